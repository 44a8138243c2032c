// Case page: relabel without a reload, keyboard keys on the focused tile, live progress.
(function () {
  "use strict";
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  const flash = document.getElementById("flash");
  const KEYS = { a: "all", h: "hem", u: "unsure", x: "artifact" };

  function say(text, isError) {
    if (!flash) return;
    flash.textContent = text;
    flash.className = isError ? "flash error" : "flash";
  }

  async function relabel(tile, value) {
    const shown = tile.querySelector(".current-label");
    const before = shown.textContent;
    shown.textContent = value;  // optimistic: the screen updates at once
    tile.classList.add("labelled");
    const body = new URLSearchParams({ value: value });
    try {
      const response = await fetch(tile.dataset.labelUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
        body: body,
        credentials: "same-origin",
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error(data.detail || "the server refused the label (" + response.status + ")");
      }
      say("Cell " + tile.dataset.cell + " labelled " + value + ".", false);
    } catch (err) {
      shown.textContent = before;  // roll back what the screen claimed
      say("Not saved: " + err.message, true);
    }
  }

  const gallery = document.getElementById("gallery");
  if (gallery) {
    gallery.addEventListener("submit", (event) => {
      event.preventDefault();
      const tile = event.target.closest(".tile");
      relabel(tile, event.submitter.value);
    });
    gallery.addEventListener("keydown", (event) => {
      const tile = event.target.closest(".tile");
      const value = KEYS[event.key.toLowerCase()];
      if (tile && value && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        relabel(tile, value);
      }
    });
  }

  const box = document.getElementById("progress-box");
  if (box) {
    const bar = document.getElementById("case-progress");
    const text = document.getElementById("progress-text");
    const timer = setInterval(async () => {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      bar.max = data.progress_total; bar.value = data.progress_done;
      text.textContent = data.progress_done + " of " + data.progress_total;
      if (!["uploaded", "queued", "classifying"].includes(data.status)) {
        clearInterval(timer);
        location.reload();
      }
    }, 2000);
  }
})();
