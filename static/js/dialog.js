// In-page dialogs and action results: no window.alert/confirm/prompt (they block the page,
// cannot show a field error next to its field and read as a browser warning, not ours).
"use strict";
(function () {
  const SW = window.StreamWarden = window.StreamWarden || {};

  function make(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  // ask({title, text, fields: [{name, label, value, type, list, placeholder}],
  //      buttons: [{label, value, cls}]}) -> Promise of {button, values} or null (cancelled).
  // Text is always set with textContent: names from Redis are shown, never run.
  SW.ask = function (options) {
    return new Promise(function (resolve) {
      const dialog = make("dialog", null, "sw-dialog");
      dialog.setAttribute("aria-label", options.title || "Confirm");
      const form = make("form");
      form.method = "dialog";
      if (options.title) form.appendChild(make("h2", options.title));
      (Array.isArray(options.text) ? options.text : [options.text]).forEach(function (t) {
        if (t) form.appendChild(make("p", t, "sw-dialog-text"));
      });
      (options.fields || []).forEach(function (f, i) {
        const label = make("label", f.label);
        const input = make("input");
        input.name = f.name;
        input.type = f.type || "text";
        input.value = f.value || "";
        if (f.placeholder) input.placeholder = f.placeholder;
        if (f.list && f.list.length) {
          const list = make("datalist");
          list.id = "sw-dialog-list-" + i;
          f.list.forEach(function (v) { const o = make("option"); o.value = v; list.appendChild(o); });
          form.appendChild(list);
          input.setAttribute("list", list.id);
        }
        label.appendChild(input);
        form.appendChild(label);
      });
      const row = make("div", null, "sw-dialog-buttons");
      let chosen = null;
      (options.buttons || [{ label: "OK", value: "ok" }]).concat([{ label: "Cancel", value: null }])
        .forEach(function (b) {
          const button = make("button", b.label, b.cls || "");
          button.type = "submit";
          button.addEventListener("click", function () { chosen = b.value; });
          row.appendChild(button);
        });
      form.appendChild(row);
      dialog.appendChild(form);
      dialog.addEventListener("close", function () {
        const values = {};
        (options.fields || []).forEach(function (f) { values[f.name] = form.elements[f.name].value; });
        dialog.remove();
        resolve(chosen === null ? null : { button: chosen, values: values });
      });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  };

  // confirm(question) -> Promise of true / false, in the page.
  SW.confirmInPage = function (question, label, cls) {
    return SW.ask({ text: question, buttons: [{ label: label || "OK", value: "ok", cls: cls }] })
      .then(function (answer) { return answer !== null; });
  };

  // An action's outcome in the page's result line (role=status: read out by screen readers).
  SW.notify = function (text, ok) {
    let out = document.getElementById("action-result");
    if (!out) {
      out = make("p");
      out.id = "action-result";
      out.setAttribute("role", "status");
      const main = document.querySelector("main") || document.body;
      main.insertBefore(out, main.firstChild);
    }
    out.textContent = text;
    out.className = ok === false ? "error" : "success";
    out.hidden = false;
  };

})();
