// Pipeline board: drag a card onto another stage. The drop fills in the card's own
// "move to" form and submits it, so the server applies the same checks as without script
// (permission, version, lost reason).
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) { return; }
  var dragged = null;
  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest(".board-card") : null;
    if (!card || card.getAttribute("draggable") !== "true") { return; }
    dragged = card;
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
  });
  board.addEventListener("dragover", function (event) {
    if (dragged && event.target.closest(".board-column")) { event.preventDefault(); }
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest(".board-column");
    if (!dragged || !column) { return; }
    event.preventDefault();
    var form = dragged.querySelector("form.board-move");
    var stage = column.getAttribute("data-stage");
    if (!form || dragged.closest(".board-column") === column) { return; }
    form.querySelector("select[name=stage]").value = stage;
    var reason = form.querySelector("select[name=lost_reason]");
    if (column.getAttribute("data-lost") === "1" && reason && !reason.value) {
      // Lost needs a reason: let the user pick it, then press Move.
      form.classList.add("needs-reason");
      reason.focus();
      return;
    }
    form.submit();
  });
})();
