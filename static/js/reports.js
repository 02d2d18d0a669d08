// Report pages: the timeline's detail line follows the hovered or focused segment (each
// segment also carries the same text as its accessible name and tooltip), and Print buttons.
(function () {
  "use strict";
  var detail = document.querySelector("[data-seg-detail]");
  function show(event) {
    var segment = event.target.closest && event.target.closest("[data-seg]");
    if (segment && detail) {
      detail.textContent = segment.getAttribute("data-seg");
    }
  }
  document.addEventListener("mouseover", show);
  document.addEventListener("focusin", show);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
