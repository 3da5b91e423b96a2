// The badge level cards of an activity type's page (admin/gamification/activitytype/badge_levels.html):
// - the learner's-eye preview of each level follows the fields as staff type, with one icon: the
//   image being uploaded, else the stored upload (unless "Clear" is ticked), else the bundled icon;
// - descriptions naming a number other than the threshold are flagged (the same rule as
//   description_number_mismatches in gamification/admin/forms.py, which flags them on the server);
// - after a refused save, the first message is scrolled into view and its field focused.
// Listeners sit on the document, so rows added with "Add another level" work too.
"use strict";
(function () {
    const NUMBER = /\d{1,3}(?:[,\u00a0\u202f]\d{3})+(?!\d)|\d+/g;
    const UPLOADABLE = ["image/png", "image/jpeg", "image/webp"];

    function field(card, name) {
        return card.querySelector('[name$="-' + name + '"]');
    }

    function mismatches(threshold, descriptions) {
        if (!threshold) {
            return [];
        }
        const warnings = [];
        for (const [label, text] of descriptions) {
            const numbers = (text.match(NUMBER) || []).map((match) => parseInt(match.replace(/\D/g, ""), 10));
            if (numbers.length && !numbers.includes(threshold)) {
                const named = [...new Set(numbers)].join(", ");
                warnings.push("The " + label + " text names " + named + ", but the threshold is " + threshold + ".");
            }
        }
        return warnings;
    }

    function icon(card, preview) {
        const upload = field(card, "icon_upload");
        const clear = field(card, "icon_upload-clear");
        const select = field(card, "icon");
        const file = upload && upload.files && upload.files[0];
        if (file) {
            if (!UPLOADABLE.includes(file.type)) {
                return {url: "", source: "none: only PNG, JPEG or WebP images can be uploaded"};
            }
            return {url: upload.dataset.previewUrl || "", source: "the image you are uploading"};
        }
        if (preview.dataset.uploadUrl && !(clear && clear.checked)) {
            return {url: preview.dataset.uploadUrl, source: "the uploaded image"};
        }
        const option = select && select.options[select.selectedIndex];
        const url = option ? option.getAttribute("data-icon-url") : null;
        if (url) {
            return {url: url, source: "the bundled icon " + select.value};
        }
        return {url: "", source: "no icon yet"};
    }

    function update(card) {
        const preview = card.querySelector(".learner-preview");
        if (!preview) {
            return;
        }
        const value = (name) => (field(card, name) || {value: ""}).value;
        const threshold = parseInt(value("threshold"), 10);
        const texts = {
            name: value("name").trim() || "(no name yet)",
            achieved: value("achieved_description"),
            unachieved: value("unachieved_description"),
            threshold: Number.isFinite(threshold) ? String(threshold) : "?",
        };
        for (const [key, text] of Object.entries(texts)) {
            preview.querySelectorAll('[data-preview="' + key + '"]').forEach((node) => {
                node.textContent = text;
            });
        }
        const shown = icon(card, preview);
        preview.querySelector('[data-preview="icon-source"]').textContent = shown.source;
        preview.querySelectorAll("img.learner-badge-icon").forEach((img) => {
            if (shown.url) {
                img.src = shown.url;
                img.hidden = false;
            } else {
                img.removeAttribute("src");
                img.hidden = true;
            }
        });
        const list = preview.querySelector(".learner-preview-warnings");
        const warnings = mismatches(Number.isFinite(threshold) ? threshold : null, [
            ["not achieved", texts.unachieved],
            ["achieved", texts.achieved],
        ]);
        list.replaceChildren(...warnings.map((text) => {
            const item = document.createElement("li");
            item.textContent = text;
            return item;
        }));
        list.hidden = warnings.length === 0;
    }

    function onEdit(event) {
        const target = event.target;
        const card = target.closest && target.closest(".badge-level");
        if (!card) {
            return;
        }
        if (event.type === "change" && target.type === "file") {
            delete target.dataset.previewUrl;
            const file = target.files && target.files[0];
            if (file && UPLOADABLE.includes(file.type)) {
                const reader = new FileReader();
                reader.addEventListener("load", () => {
                    target.dataset.previewUrl = reader.result;  // a data: URL, which the CSP allows
                    update(card);
                });
                reader.readAsDataURL(file);
            }
        }
        update(card);
    }

    document.addEventListener("input", onEdit);
    document.addEventListener("change", onEdit);

    function showFirstError() {
        const first = document.querySelector("#content-main .errorlist");
        if (!first) {
            return;
        }
        const place = first.closest(".form-row, .badge-level-errors, .badge-levels-errors") || first;
        place.scrollIntoView({block: "center"});
        const input = place.querySelector("input:not([type=hidden]), select, textarea");
        if (input) {
            input.focus({preventScroll: true});
        }
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", showFirstError);
    } else {
        showFirstError();
    }
    // The add page autofocuses its first field once the page has loaded, which scrolls back to
    // the top: show the first message again after that.
    window.addEventListener("load", () => setTimeout(showFirstError, 0));
})();
