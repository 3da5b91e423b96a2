// Keeps the preview next to each bundled-icon select in step with the chosen icon, also in
// inline rows added after the page loaded (hence one listener on the document).
"use strict";
document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.classList.contains("badge-icon-select")) {
        return;
    }
    const preview = select.parentElement.querySelector("img.badge-icon-preview");
    if (!preview) {
        return;
    }
    const option = select.options[select.selectedIndex];
    const url = option ? option.getAttribute("data-icon-url") : null;
    if (url) {
        preview.src = url;
        preview.hidden = false;
    } else {
        preview.removeAttribute("src");
        preview.hidden = true;
    }
});
