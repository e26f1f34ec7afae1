// The rule editor's condition builder: groups (all / any, maybe "not") and clauses, nested to any
// depth, read back in words by the server (htmx) and kept in step with the rule's JSON both ways:
// editing the form rewrites the JSON; editing the JSON (once it parses) redraws the form on the
// server. The server builds the JSON again on save; it is the one that validates.
(function () {
  "use strict";
  const timers = new WeakMap();
  const OPERATOR_WORDS = {
    eq: "is", ne: "is not", in: "is one of", not_in: "is none of", contains: "contains",
    icontains: "contains (any case)", contains_any: "contains any of", startswith: "starts with",
    regex: "matches the pattern", gt: "is more than", gte: "is at least", lt: "is less than",
    lte: "is at most", between: "is between", exists: "is set",
  };

  function operators() {
    const data = document.getElementById("condition-operators");
    return data ? JSON.parse(data.textContent) : {};
  }
  function editorData() {
    return document.querySelector(".condition-editor-data");
  }
  function nameOf(builder) {
    return builder.querySelector(".cb-source").name.replace(/-source$/, "");
  }
  // The rule a builder belongs to: a card of the stacked inline (or a table row).
  function ruleOf(element) {
    return element.closest(".inline-related") || element.closest("tr") || element.parentElement;
  }
  function builderOf(rule) {
    return rule && rule.querySelector(".condition-builder");
  }
  function setSource(builder, source) {
    builder.querySelector(".cb-source").value = source;
  }
  function isFamily(field) {
    return /\.\*$/.test(field);
  }
  // Rows post in document order; each names its group by that group's index ("" for the top).
  function renumber(builder) {
    const name = nameOf(builder);
    const rows = Array.from(builder.querySelectorAll(".cb-rows .cb-row"));
    rows.forEach(function (row, index) {
      const error = row.querySelector(":scope > .cb-error");
      if (error) error.id = name + "-error-" + index;
      // A screen reader reads each control's error with it.
      row.querySelectorAll(":scope > .cb-clause-line [aria-describedby], :scope > .cb-group-head [aria-describedby]").forEach(function (control) {
        control.setAttribute("aria-describedby", name + "-error-" + index);
      });
      const group = row.parentElement.closest(".cb-group");
      row.querySelector(":scope > .cb-parent").value = group ? String(rows.indexOf(group)) : "";
    });
  }
  function fromTemplate(builder, selector) {
    const template = builder.querySelector(":scope > " + selector);
    const html = template.innerHTML.split(builder.dataset.name + "-").join(nameOf(builder) + "-");
    const holder = document.createElement("ol");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }
  function refresh(builder) {
    const data = editorData();
    if (!data || !window.htmx || !builder.querySelector(".cb-rows")) return;
    renumber(builder);
    const params = new URLSearchParams();
    params.append("name", nameOf(builder));
    ruleOf(builder).querySelectorAll("[name]").forEach(function (input) {
      if (input.closest("template")) return;
      if (input.type === "checkbox" && !input.checked) return;
      params.append(input.name, input.value);
    });
    const target = builder.querySelector(".cb-words");
    // Each builder is its own source: htmx lets one request at a time run per source element.
    window.htmx.ajax("GET", data.dataset.wordsUrl + "?" + params.toString(), { source: target, target: target, swap: "innerHTML" });
  }
  function later(key, action) {
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(action, 250));
  }
  function textareaOf(builder) {
    return ruleOf(builder).querySelector("textarea.rule-definition");
  }
  // Form -> JSON: the condition the server read back replaces "when", the rest of the JSON stays.
  function writeJson(builder, condition) {
    const textarea = textareaOf(builder);
    if (!textarea || builder.querySelector(".cb-source").value !== "form") return;
    let definition;
    try {
      definition = textarea.value.trim() ? JSON.parse(textarea.value) || {} : {};
    } catch (error) {
      definition = {}; // the form is being edited now: its condition wins over JSON that did not parse
    }
    if (typeof definition !== "object" || Array.isArray(definition)) definition = {};
    if (condition) definition.when = condition; else delete definition.when;
    textarea.value = JSON.stringify(definition, null, 2);
    showJsonError(textarea, "");
  }
  function showJsonError(textarea, message) {
    const slot = textarea.parentElement.querySelector(".aj-error");
    if (slot) slot.textContent = message;
    if (message) textarea.setAttribute("aria-invalid", "true"); else textarea.removeAttribute("aria-invalid");
  }
  // JSON -> form: a definition that parses is drawn again by the server; one that does not is
  // named next to the JSON box and the form stays as it was.
  function readJson(textarea) {
    const rule = ruleOf(textarea);
    const builder = builderOf(rule);
    const data = editorData();
    if (!builder || !data || textarea.dataset.drawn === textarea.value) return;
    let definition;
    try {
      definition = textarea.value.trim() ? JSON.parse(textarea.value) : {};
    } catch (error) {
      showJsonError(textarea, "Not valid JSON yet (" + error.message + "); the form keeps the last valid condition.");
      return;
    }
    if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
      showJsonError(textarea, "The definition must be a JSON object, like {\"when\": {...}}; the form is unchanged.");
      return;
    }
    showJsonError(textarea, "");
    textarea.dataset.drawn = textarea.value;
    setSource(builder, "json"); // the JSON was edited by hand: it wins on save
    const kind = rule.querySelector("select[name$='-kind']");
    const params = new URLSearchParams();
    params.append("name", nameOf(builder));
    params.append(textarea.name, textarea.value);
    if (kind) params.append(kind.name, kind.value);
    window.htmx.ajax("GET", data.dataset.builderUrl + "?" + params.toString(), { source: textarea, target: builder, swap: "outerHTML" });
  }
  function fillOperators(row) {
    const field = row.querySelector(".cb-field").value;
    const select = row.querySelector(".cb-op");
    const known = operators();
    const allowed = known[field] || (field ? known[""] : []);
    const current = select.value;
    select.innerHTML = "";
    (allowed || []).forEach(function (op) {
      const option = document.createElement("option");
      option.value = op;
      option.textContent = OPERATOR_WORDS[op] || op;
      option.selected = op === current;
      select.appendChild(option);
    });
    const keyLabel = row.querySelector(".cb-key-label");
    const key = row.querySelector(".cb-key");
    keyLabel.hidden = !isFamily(field);
    if (isFamily(field)) key.setAttribute("list", "keys-" + field); else key.value = "";
    suggestValues(row);
  }
  function suggestValues(row) {
    const field = row.querySelector(".cb-field").value;
    const key = row.querySelector(".cb-key").value.trim();
    const full = isFamily(field) ? (key ? field.slice(0, -1) + key : "") : field;
    const value = row.querySelector(".cb-value");
    if (full) value.setAttribute("list", "suggest-" + full); else value.removeAttribute("list");
  }
  function newGroup(builder) {
    const group = fromTemplate(builder, ".cb-group-template");
    group.querySelector(":scope > .cb-rows").appendChild(fromTemplate(builder, ".cb-row-template"));
    return group;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    const builder = button && button.closest(".condition-builder");
    if (!builder) return;
    const container = button.closest(".cb-group") || builder;
    const rows = container.querySelector(":scope > .cb-rows");
    let added = null;
    if (button.classList.contains("cb-add-clause")) {
      added = fromTemplate(builder, ".cb-row-template");
      rows.appendChild(added);
    } else if (button.classList.contains("cb-add-group")) {
      added = newGroup(builder);
      rows.appendChild(added);
    } else if (button.classList.contains("cb-remove")) {
      const row = button.closest(".cb-row");
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      // Keep the keyboard where the person was: the next part, or the group's first button.
      const focus = next ? next.querySelector("select, input:not([type=hidden])") : container.querySelector(":scope > .cb-actions button, .cb-actions button");
      if (focus) focus.focus();
    } else {
      return;
    }
    setSource(builder, "form");
    if (added) added.querySelector(".cb-field, select").focus();
    later(builder, function () { refresh(builder); });
  });

  function onEdit(event) {
    const target = event.target;
    if (!target.closest) return;
    const builder = target.closest(".condition-builder");
    if (builder) {
      setSource(builder, "form");
      if (target.classList.contains("cb-field")) fillOperators(target.closest(".cb-row"));
      if (target.classList.contains("cb-key")) suggestValues(target.closest(".cb-row"));
      later(builder, function () { refresh(builder); });
      return;
    }
    const rule = ruleOf(target);
    const inRule = builderOf(rule);
    if (!inRule) return;
    if (target.classList.contains("rule-definition")) {
      // Typing only: the "change" a blur fires would draw the form again over edits made since.
      if (event.type === "input") later(target, function () { readJson(target); });
    } else if (target.name && /-kind$/.test(target.name) && event.type === "change") {
      const textarea = rule.querySelector("textarea.rule-definition");
      // A new engagement rule needs events to count; start from every tracked event.
      if (textarea && ["", "{}", "null"].includes(textarea.value.trim()) && target.value === "engagement") textarea.value = '{"event_type": "track"}';
      inRule.classList.toggle("cb-off", target.value === "pql");
      later(inRule, function () { refresh(inRule); });
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
  // A request that failed (a 4xx naming the field) is said next to the JSON it came from.
  document.addEventListener("htmx:responseError", function (event) {
    const source = event.detail.elt;
    if (source && source.classList && source.classList.contains("rule-definition")) {
      showJsonError(source, event.detail.xhr.responseText);
    }
  });
})();
