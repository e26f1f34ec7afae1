// The rule editor's condition builder: rows of field / operator / value, read back in words by
// the server (htmx), written into the rule's JSON. The server builds the JSON again on save.
(function () {
  "use strict";
  const timers = new WeakMap();

  function operators() {
    const data = document.getElementById("condition-operators");
    return data ? JSON.parse(data.textContent) : {};
  }
  function wordsUrl() {
    const data = document.querySelector(".condition-editor-data");
    return data ? data.dataset.wordsUrl : null;
  }
  function nameOf(builder) {
    return builder.querySelector(".cb-source").name.replace(/-source$/, "");
  }
  function rowOf(builder) {
    return builder.closest("tr") || builder.closest("fieldset") || builder.parentElement;
  }
  function setSource(builder, source) {
    builder.querySelector(".cb-source").value = source;
  }
  function renumber(builder) {
    const name = nameOf(builder);
    let group = "";
    builder.querySelectorAll(".cb-row").forEach(function (row, index) {
      const error = row.querySelector(".cb-error");
      if (error) error.id = name + "-error-" + index;
      if (row.classList.contains("cb-group")) {
        group = String(index);
      } else {
        row.querySelector(".cb-parent").value = row.classList.contains("cb-nested") ? group : "";
      }
    });
  }
  function fromTemplate(builder, selector) {
    const template = builder.querySelector(selector);
    const html = template.innerHTML.split(builder.dataset.name + "-").join(nameOf(builder) + "-");
    const holder = document.createElement("ol");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }
  function refresh(builder) {
    const url = wordsUrl();
    if (!url || !window.htmx || !builder.querySelector(".cb-rows")) return;
    renumber(builder);
    const params = new URLSearchParams();
    params.append("name", nameOf(builder));
    rowOf(builder).querySelectorAll("[name]").forEach(function (input) {
      if (input.type === "checkbox" && !input.checked) return;
      params.append(input.name, input.value);
    });
    const target = builder.querySelector(".cb-words");
    // Each builder is its own source: htmx lets one request at a time run per source element.
    window.htmx.ajax("GET", url + "?" + params.toString(), { source: target, target: target, swap: "innerHTML" });
  }
  function later(builder) {
    clearTimeout(timers.get(builder));
    timers.set(builder, setTimeout(function () { refresh(builder); }, 250));
  }
  function writeJson(builder, condition) {
    const textarea = rowOf(builder).querySelector("textarea.rule-definition");
    if (!textarea || builder.querySelector(".cb-source").value !== "form") return;
    let definition;
    try {
      definition = textarea.value.trim() ? JSON.parse(textarea.value) || {} : {};
    } catch (error) {
      return; // hand-written JSON that does not parse: leave it, the server says why on save
    }
    if (typeof definition !== "object" || definition === null || Array.isArray(definition)) return;
    if (condition) definition.when = condition; else delete definition.when;
    textarea.value = JSON.stringify(definition);
  }
  function fillOperators(row) {
    const field = row.querySelector(".cb-field").value;
    const select = row.querySelector(".cb-op");
    const allowed = operators()[field];
    const current = select.value;
    select.innerHTML = "";
    (allowed || []).forEach(function (op) {
      const option = document.createElement("option");
      option.value = op;
      option.textContent = OPERATOR_WORDS[op] || op;
      option.selected = op === current;
      select.appendChild(option);
    });
    const value = row.querySelector(".cb-value");
    if (field) value.setAttribute("list", "suggest-" + field); else value.removeAttribute("list");
  }
  const OPERATOR_WORDS = {
    eq: "is", ne: "is not", in: "is one of", not_in: "is none of", contains: "contains",
    icontains: "contains (any case)", contains_any: "contains any of", startswith: "starts with",
    regex: "matches the pattern", gt: "is more than", gte: "is at least", lt: "is less than",
    lte: "is at most", between: "is between", exists: "is set",
  };

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    const builder = button && button.closest(".condition-builder");
    if (!builder) return;
    const rows = builder.querySelector(".cb-rows");
    setSource(builder, "form");
    if (button.classList.contains("cb-add-clause")) {
      rows.appendChild(fromTemplate(builder, ".cb-row-template"));
    } else if (button.classList.contains("cb-add-group")) {
      const group = fromTemplate(builder, ".cb-group-template");
      rows.appendChild(group);
      const clause = fromTemplate(builder, ".cb-row-template");
      clause.classList.add("cb-nested");
      rows.appendChild(clause);
    } else if (button.classList.contains("cb-add-nested")) {
      let last = button.closest(".cb-row");
      while (last.nextElementSibling && last.nextElementSibling.classList.contains("cb-nested")) last = last.nextElementSibling;
      const clause = fromTemplate(builder, ".cb-row-template");
      clause.classList.add("cb-nested");
      last.after(clause);
    } else if (button.classList.contains("cb-remove")) {
      const row = button.closest(".cb-row");
      if (row.classList.contains("cb-group")) {
        while (row.nextElementSibling && row.nextElementSibling.classList.contains("cb-nested")) row.nextElementSibling.remove();
      }
      row.remove();
    } else {
      return;
    }
    later(builder);
  });

  function onEdit(event) {
    const target = event.target;
    const builder = target.closest && target.closest(".condition-builder");
    if (builder) {
      setSource(builder, "form");
      if (target.classList.contains("cb-field")) fillOperators(target.closest(".cb-row"));
      later(builder);
      return;
    }
    const row = target.closest && target.closest("tr, .inline-related");
    const inRow = row && row.querySelector(".condition-builder");
    if (!inRow) return;
    if (target.classList.contains("rule-definition")) {
      setSource(inRow, "json"); // the JSON was edited by hand: it wins on save
    } else if (target.name && /-kind$/.test(target.name)) {
      const textarea = row.querySelector("textarea.rule-definition");
      // A new engagement rule needs events to count; start from every tracked event.
      if (textarea && ["", "{}", "null"].includes(textarea.value.trim()) && target.value === "engagement") textarea.value = '{"event_type": "track"}';
      inRow.classList.toggle("cb-off", target.value === "pql");
      later(inRow);
    }
  }
  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);

  document.addEventListener("htmx:afterSwap", function (event) {
    const builder = event.target.closest && event.target.closest(".condition-builder");
    const readBack = builder && builder.querySelector(".cb-read-back");
    if (!readBack) return;
    const json = readBack.dataset.condition;
    writeJson(builder, json ? JSON.parse(json) : null);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".condition-builder").forEach(function (builder) {
      if (!builder.closest(".empty-form") && builder.querySelector(".cb-row")) refresh(builder);
    });
  });
})();
