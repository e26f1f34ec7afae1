// The lead workspace: after htmx swaps in an older or newer page of the timeline, the
// link the reader pressed is gone; the timeline's heading is brought into view and takes
// keyboard and screen-reader focus instead of focus falling back to the document.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target.id !== "timeline") return;
  const heading = document.getElementById("timeline-title");
  if (!heading) return;
  heading.scrollIntoView({ block: "start" });
  heading.focus({ preventScroll: true });
});
