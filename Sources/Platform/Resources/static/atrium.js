// Atrium's small progressive enhancements. Every page works without this file; it adds the
// phone menu toggle, select-all for bulk actions, confirmation before destructive buttons, and
// up/down ordering in the layout designer (which keeps the position numbers in step), a
// "working" line under forms that take a while (imports), and the comment form's mention picker
// (it writes `@[Name](user-id)` into the text, which is what the server reads as a mention).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var move = event.target.closest("[data-move]");
    if (move) {
      var item = move.closest("li");
      var list = item.parentElement;
      if (move.getAttribute("data-move") === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (move.getAttribute("data-move") === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      renumber(list);
      move.focus();
      return;
    }
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      var table = event.target.closest("table");
      table.querySelectorAll("tbody input[type=checkbox]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-mention-target]")) {
      insertMention(event.target);
    }
  });

  // A form with data-progress shows its status line once submitted and is not sent twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var id = form.getAttribute("data-progress");
    if (!id) { return; }
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var status = document.getElementById(id);
    if (status) { status.hidden = false; }
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.setAttribute("aria-disabled", "true"); });
  });

  // Inserts the chosen person as a mention at the caret of the picker's text area.
  function insertMention(select) {
    var option = select.options[select.selectedIndex];
    var area = document.getElementById(select.getAttribute("data-mention-target"));
    if (!option || !option.value || !area) { return; }
    var name = option.textContent.replace(/[\[\]\r\n]/g, " ").trim().slice(0, 100);
    var text = "@[" + name + "](" + option.value + ") ";
    var start = area.selectionStart || area.value.length;
    var end = area.selectionEnd || start;
    var before = area.value.slice(0, start);
    if (before && !/\s$/.test(before)) { text = " " + text; }
    area.value = before + text + area.value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = before.length + text.length;
    select.selectedIndex = 0;
  }

  function renumber(list) {
    var position = 1;
    list.querySelectorAll(":scope > li").forEach(function (li) {
      var input = li.querySelector("[data-position]");
      if (input) { input.value = String(position++); }
    });
  }
})();
