// Field page (issue 14): every cell of the field outlined and coloured by the label the user
// sees; a click on an outline focuses the cell in the list beside it and back; reviewers reject a
// detection (and restore one rejected by mistake) or add a missed cell by clicking it. Rules
// stay on the server; this only presents.
(function () {
  "use strict";

  const LABEL_TEXT = { all: "blast (ALL)", hem: "normal (HEM)", unsure: "unsure", artifact: "artifact" };
  const SVG_NS = "http://www.w3.org/2000/svg";
  const page = JSON.parse(document.getElementById("field-page").textContent);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const svg = document.getElementById("field-svg");
  const outlines = document.getElementById("outlines");
  const tiles = document.getElementById("field-tiles");
  const flash = document.getElementById("flash");
  let cells = page.cells;
  let focusId = null;
  let adding = false;

  function say(text, isError) {
    flash.textContent = text;
    flash.className = isError ? "flash error" : "flash";
    flash.setAttribute("role", isError ? "alert" : "status");
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || "the server refused (" + response.status + ")");
    return data;
  }

  function colour(c) {
    if (c.rejected) return ["l-artifact", "rejected"];
    if (c.label) return ["l-" + c.label, "labelled"];
    if (c.model) return ["l-" + c.model, "model"];
    return ["l-none", "model"];
  }

  function describe(c) {
    const label = c.label ? LABEL_TEXT[c.label] : "not reviewed";
    return "Cell " + c.id + ": " + label + (c.rejected ? ", rejected detection" : "");
  }

  function draw() {
    outlines.textContent = "";
    tiles.textContent = "";
    for (const c of cells) {
      const shape = document.createElementNS(SVG_NS, "polygon");
      shape.setAttribute("points", c.polygon.map((p) => p.join(",")).join(" "));
      shape.setAttribute("class", "outline " + colour(c).join(" ") + (c.id === focusId ? " focused" : ""));
      shape.dataset.cell = c.id;
      shape.id = "outline-" + c.id;
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = describe(c);
      shape.append(title);
      outlines.append(shape);

      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "field-tile " + colour(c).join(" ");
      button.id = "tile-" + c.id;
      button.dataset.cell = c.id;
      button.setAttribute("role", "option");
      button.setAttribute("aria-selected", c.id === focusId ? "true" : "false");
      button.setAttribute("aria-label", describe(c));
      button.style.borderColor = "var(--tile-colour)";
      const img = document.createElement("img");
      img.src = "/cells/" + c.id + "/thumbnail/";
      img.alt = "";
      img.loading = "lazy";
      button.append(img);
      li.append(button);
      tiles.append(li);
    }
    document.getElementById("cell-count").textContent = cells.length;
    for (const b of tiles.querySelectorAll(".field-tile")) {
      b.style.borderColor = getComputedStyle(b).backgroundColor;
      b.style.backgroundColor = "#000";
    }
  }

  function focusCell(id, fromField) {
    const c = cells.find((x) => x.id === id);
    if (!c) return;
    focusId = id;
    for (const el of outlines.querySelectorAll(".focused")) el.classList.remove("focused");
    document.getElementById("outline-" + id).classList.add("focused");
    for (const el of tiles.querySelectorAll("[aria-selected=true]")) el.setAttribute("aria-selected", "false");
    const tile = document.getElementById("tile-" + id);
    tile.setAttribute("aria-selected", "true");
    if (fromField) tile.scrollIntoView({ block: "nearest" });
    tile.focus({ preventScroll: true });
    document.getElementById("cell-none").hidden = true;
    document.getElementById("cell-focus").hidden = false;
    document.getElementById("focus-image").src = "/cells/" + id + "/image/";
    document.getElementById("focus-gallery").href = "/cases/" + page.case + "/#cell-" + id;
    const facts = document.getElementById("focus-facts");
    facts.textContent = "";
    const rows = [
      ["Cell", "#" + c.id + (c.origin === "added" ? " (added by a reviewer)" : "")],
      ["Label", c.label ? LABEL_TEXT[c.label] : "not reviewed"],
    ];
    if (!page.model_hidden) rows.push(["Model's call", c.model ? LABEL_TEXT[c.model] + " · p=" + c.probability : "none yet"]);
    rows.push(["Detection score", String(c.score)]);
    rows.push(["Box", c.box.join(", ")]);
    if (c.edge) rows.push(["Edge", "cut by the field's edge"]);
    if (c.rejected) rows.push(["Detection", "rejected: not a cell"]);
    for (const [k, v] of rows) {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      facts.append(dt, dd);
    }
    const rejectForm = document.getElementById("reject-form");
    if (rejectForm) rejectForm.hidden = c.rejected;
    const restoreRow = document.getElementById("restore-row");
    if (restoreRow) restoreRow.hidden = !c.rejected;
  }

  function refresh(data, focus) {
    cells = data.cells;
    page.model_hidden = data.model_hidden;
    draw();
    if (focus) focusCell(focus, true);
  }

  function fieldPoint(event) {
    const point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    const p = point.matrixTransform(svg.getScreenCTM().inverse());
    return { x: Math.round(p.x), y: Math.round(p.y) };
  }

  function setAdding(on) {
    adding = on;
    svg.classList.toggle("adding", on);
    const button = document.getElementById("add-mode");
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    const hint = document.getElementById("add-hint");
    if (hint) hint.hidden = !on;
  }

  svg.addEventListener("click", async (event) => {
    if (adding) {
      setAdding(false);
      const point = fieldPoint(event);
      say("Looking for a cell at " + point.x + ", " + point.y + "…");
      try {
        const data = await post("/fields/" + page.field + "/cells/", point);
        refresh(data, data.cell);
        say("Cell " + data.cell + " added; a worker classifies it.");
      } catch (err) {
        say(err.message, true);
      }
      return;
    }
    const target = event.target.closest("polygon");
    if (target) focusCell(Number(target.dataset.cell), true);
  });

  tiles.addEventListener("click", (event) => {
    const tile = event.target.closest(".field-tile");
    if (tile) focusCell(Number(tile.dataset.cell), false);
  });

  const addButton = document.getElementById("add-mode");
  if (addButton) addButton.addEventListener("click", () => setAdding(!adding));

  const rejectForm = document.getElementById("reject-form");
  if (rejectForm) {
    rejectForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (focusId === null) return;
      const reason = document.getElementById("reject-reason").value;
      try {
        const data = await post("/fields/cells/" + focusId + "/reject/", { reason: reason });
        refresh(data, data.cell);
        document.getElementById("reject-reason").value = "";
        say("Detection rejected: cell " + data.cell + " is labelled artifact.");
      } catch (err) {
        say(err.message, true);
      }
    });
  }

  const restoreButton = document.getElementById("restore-button");
  if (restoreButton) {
    restoreButton.addEventListener("click", async () => {
      if (focusId === null) return;
      try {
        const data = await post("/fields/cells/" + focusId + "/restore/", {});
        refresh(data, data.cell);
        const c = cells.find((x) => x.id === data.cell);
        say("Detection restored: cell " + data.cell + (c && c.label ? " is labelled " + LABEL_TEXT[c.label] : " is unreviewed again") + ".");
      } catch (err) {
        say(err.message, true);
      }
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea")) return;
    if (event.key === "Escape") setAdding(false);
    else if ((event.key === "n" || event.key === "N") && addButton) setAdding(!adding);
  });

  draw();
  const wanted = /^#cell-(\d+)$/.exec(location.hash);
  if (wanted) focusCell(Number(wanted[1]), true);
})();
