// Case page: class galleries drawn from one JSON list, keyboard-first relabelling with optimistic
// updates and rollback, range selection, undo, the cell view with saliency, live progress.
// Rules (what may be labelled, counts, sign-off) stay on the server; this file only presents.
(function () {
  "use strict";

  const KEYS = { a: "all", h: "hem", u: "unsure", x: "artifact" };
  const LABEL_TEXT = { all: "blast", hem: "normal", unsure: "unsure", artifact: "artifact" };
  const MODEL_LETTER = { all: "B", hem: "N" };
  const GROUPS = [
    ["all", "Blasts (model's call)"],
    ["hem", "Normal cells (model's call)"],
    [null, "Not classified"],
  ];

  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const flash = document.getElementById("flash");
  const gallery = document.getElementById("gallery");

  function say(text, isError) {
    flash.textContent = text;
    flash.className = isError ? "flash error" : "flash";
    flash.setAttribute("role", isError ? "alert" : "status");
  }

  function requestId() {  // names one write, so a retry of it is never saved twice
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  async function send(url, body) {
    const init = {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    };
    try {
      return await fetch(url, init);
    } catch (err) {  // the network dropped: once more, with the same request id in the body
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return fetch(url, init);
    }
  }

  async function post(url, payload) {
    const response = await send(url, JSON.stringify(payload || {}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok && response.status !== 202) {
      const error = new Error(data.detail || "the server refused (" + response.status + ")");
      error.status = response.status;
      error.data = data;
      throw error;
    }
    data.httpStatus = response.status;
    return data;
  }

  // ---- progress while classifying --------------------------------------------------------
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
  if (!gallery) return;

  // ---- the gallery -------------------------------------------------------------------------
  const caseId = gallery.dataset.case;
  const modelHidden = gallery.dataset.modelHidden === "1";  // a read blinded to the model
  if (modelHidden) GROUPS[2][1] = "Cells";
  const canLabel = gallery.dataset.canLabel === "1";
  let modelVersion = gallery.dataset.modelVersion ? +gallery.dataset.modelVersion : null;  // whose calls are shown
  const locked = gallery.dataset.locked === "1";
  const cells = JSON.parse(document.getElementById("cell-rows").textContent).map((r) => ({
    id: r[0], p: r[1], u: r[2], pred: r[3], label: r[4], sha: r[5], el: null,
  }));
  const selected = new Set();
  let focus = 0;
  let anchor = 0;

  // ---- thumbnails: every one of the case from one request (a pack, cells.py), else one by one;
  // both content-addressed, so the browser keeps them for a year and never asks again
  const packUrl = gallery.dataset.thumbnailPack || "";
  const pack = packUrl ? fetch(packUrl, { credentials: "same-origin" }).then((response) => {
    if (!response.ok) throw new Error("thumbnail pack: " + response.status);
    return response.arrayBuffer();
  }) : null;

  function thumbnailUrl(c) {
    return "/cells/" + c.id + "/thumbnail/" + c.sha + ".jpg";
  }

  function unpack(buffer) {  // one line of JSON [[cell id, bytes], ...], then the JPEGs in turn
    // data: URLs, not blob: ones: each Blob is a round trip to the browser process, and 500 of
    // them took longer than the request for the pack itself
    const bytes = new Uint8Array(buffer);
    const end = bytes.indexOf(10);
    const index = JSON.parse(new TextDecoder().decode(bytes.subarray(0, end)));
    const urls = new Map();
    let offset = end + 1;
    for (const [id, size] of index.cells) {
      let binary = "";
      for (let i = offset; i < offset + size; i += 8192) {
        binary += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, offset + size)));
      }
      urls.set(id, "data:image/jpeg;base64," + btoa(binary));
      offset += size;
    }
    return urls;
  }

  function showThumbnails(urls) {
    for (const c of cells) c.el.querySelector("img").src = (urls && urls.get(c.id)) || thumbnailUrl(c);
    performance.mark("thumbnails-shown");  // read by the browser tests and scripts/bench
  }

  function tileText(c) {  // the first paint is built as one string: no per-tile DOM calls
    const model = c.pred
      ? '<span class="badge badge-' + c.pred + '" title="Model: ' + LABEL_TEXT[c.pred] + '">' + MODEL_LETTER[c.pred] + "</span>"
      : '<span class="badge badge-none" title="No prediction">–</span>';
    const p = c.p === null ? "" : '<span class="prob" title="blast probability">' + c.p.toFixed(2) + "</span>";
    // with a pack, the source is set once the pack has come (showThumbnails)
    const src = packUrl ? "" : ' src="' + thumbnailUrl(c) + '"';
    return "<img" + src + ' alt="" loading="lazy" decoding="async" width="128" height="128">' +
      '<span class="tile-top">' + model + '<span class="check" aria-hidden="true">✓</span></span>' +
      '<span class="tile-bottom">' + p + '<span class="label-chip">' + (c.label ? LABEL_TEXT[c.label] : "") + "</span></span>";
  }

  function describe(c) {
    const model = c.pred ? "model " + LABEL_TEXT[c.pred] + " p " + c.p.toFixed(2) : (modelHidden ? "model hidden" : "no prediction");
    return "Cell " + c.id + ", " + model + ", label " + (c.label ? LABEL_TEXT[c.label] : "none");
  }

  function classes(i) {
    const c = cells[i];
    return "tile pred-" + (c.pred || "none") + (c.label ? " label-" + c.label : " unreviewed") +
      (c.label && c.pred && (c.label === "all" || c.label === "hem") && c.label !== c.pred ? " disagree" : "") +
      (selected.has(i) ? " selected" : "");
  }

  function escapeAttr(text) {
    return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  }

  function paint(i) {
    const c = cells[i];
    const el = c.el;
    el.className = classes(i);
    el.setAttribute("aria-selected", selected.has(i) ? "true" : "false");
    el.setAttribute("aria-label", describe(c));
    el.querySelector(".label-chip").textContent = c.label ? LABEL_TEXT[c.label] : "";
  }

  function render() {
    let html = "";
    let index = 0;
    const order = [];
    const source = cells.slice();  // cells is rewritten in gallery order below
    for (const [key, title] of GROUPS) {
      const members = source.filter((c) => c.pred === key);
      if (!members.length) continue;
      const gid = "group-" + (key || "none");
      html += '<div role="group" class="class-group" aria-labelledby="' + gid + '"><h2 id="' + gid + '" class="group-title">' +
        title + ' <span class="count">' + members.length + '</span></h2><ul class="gallery" role="presentation">';
      for (const c of members) {
        order.push(c);
        cells[index] = c;  // classes() reads cells[index]
        html += '<li role="option" tabindex="-1" data-i="' + index + '" id="tile-' + c.id + '" class="' + classes(index) +
          '" aria-selected="false" aria-label="' + escapeAttr(describe(c)) + '">' + tileText(c) + "</li>";
        index += 1;
      }
      html += "</ul></div>";
    }
    cells.splice(0, cells.length, ...order);  // the gallery's visual order is the navigation order
    gallery.innerHTML = html || '<p class="meta">No cells match this filter.</p>';
    gallery.querySelectorAll("li[data-i]").forEach((el) => { cells[+el.dataset.i].el = el; });
    if (cells.length) {
      cells[0].el.tabIndex = 0;
      showCell(0);
    }
  }

  function columns(i) {
    const grid = cells[i].el.parentElement;
    return getComputedStyle(grid).gridTemplateColumns.split(" ").length || 1;
  }

  function moveTo(i, options) {
    if (!cells.length) return;
    i = Math.max(0, Math.min(cells.length - 1, i));
    cells[focus].el.tabIndex = -1;
    focus = i;
    const el = cells[i].el;
    el.tabIndex = 0;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
    if (options && options.extend) selectRange(anchor, i);
    else if (!options || !options.keepAnchor) anchor = i;
    showCell(i);
  }

  function setSelection(indices) {
    const before = Array.from(selected);
    selected.clear();
    indices.forEach((i) => selected.add(i));
    before.concat(indices).forEach((i) => paint(i));
    const status = document.getElementById("selection-status");
    status.textContent = selected.size ? selected.size + " cell(s) selected: a label key relabels them all." : "";
  }

  function selectRange(from, to) {
    const lo = Math.min(from, to), hi = Math.max(from, to);
    const range = [];
    for (let i = lo; i <= hi; i++) range.push(i);
    setSelection(range);
  }

  function targets() {
    return selected.size ? Array.from(selected).sort((a, b) => a - b) : [focus];
  }

  // ---- saving: one queue so requests reach the server in the order the keys were pressed -----
  let queue = Promise.resolve();
  const undoStack = [];

  function enqueue(task) {
    queue = queue.then(task, task);
  }

  function apply(indices, values) {
    indices.forEach((i, k) => { cells[i].label = values[k]; paint(i); });
  }

  // A 409 carries the cells as they are now: show that, so the next key acts on what is there.
  function reconcile(fresh) {
    if (fresh.model_version !== undefined && fresh.model_version !== null) modelVersion = fresh.model_version;
    const byId = new Map(cells.map((c, i) => [c.id, i]));
    for (const f of fresh.cells || []) {
      const i = byId.get(f.cell);
      if (i === undefined) continue;
      const c = cells[i];
      c.label = f.label;
      if (!modelHidden) {
        c.pred = f.predicted_label;
        c.p = f.probability === null ? null : Math.round(f.probability * 1000) / 1000;
        c.u = f.uncertainty === null ? null : Math.round(f.uncertainty * 1000) / 1000;
        c.el.innerHTML = tileText(c);
      }
      paint(i);
    }
    panelCache.clear();
    if (cells.length) loadPanel(cells[focus].id);
  }

  function refreshSummary(data) {
    if (data.summary_html) document.getElementById("summary").innerHTML = data.summary_html;
    panelCache.clear();
  }

  function refuse() {
    if (locked) say("This case is signed off and locked; a lead can reopen it.", true);
    else if (!canLabel) say("Your role cannot label cells in this project.", true);
    return locked || !canLabel;
  }

  function label(value) {
    if (!cells.length || refuse()) return;
    if (value === "model" && modelHidden) { say("The model's call is hidden on this blinded read.", true); return; }
    const indices = targets();
    const usable = value === "model" ? indices.filter((i) => cells[i].pred) : indices;
    if (!usable.length) { say("No model call to accept for this cell.", true); return; }
    const before = usable.map((i) => cells[i].label);
    const after = usable.map((i) => (value === "model" ? cells[i].pred : value));
    apply(usable, after);  // optimistic: the screen changes at once
    if (selected.size) setSelection([]);
    else moveTo(focus + 1);
    const ids = usable.map((i) => cells[i].id);
    const seen = {};  // what the page showed: the server refuses if a cell has changed since
    ids.forEach((id, k) => { seen[id] = before[k] || null; });
    const payload = { cells: ids, value: value, seen: seen, request_id: requestId() };
    if (value === "model") payload.model_version = modelVersion;
    enqueue(async () => {
      try {
        const data = await post("/cases/" + caseId + "/labels/", payload);
        undoStack.push({ batch: data.batch, indices: usable, before: before, after: after });
        refreshSummary(data);
        say("Saved: " + ids.length + " cell(s) labelled " + (value === "model" ? "as the model called them" : LABEL_TEXT[value]) + ". Z undoes.", false);
      } catch (err) {
        apply(usable, before);  // roll back what the screen claimed
        if (err.status === 409 && err.data && err.data.fresh) {
          reconcile(err.data.fresh);
          say("Not saved: " + err.message + ". Check the cells and label them again.", true);
        } else say("Not saved: " + err.message, true);
      }
    });
  }

  function undo() {
    if (refuse()) return;
    enqueue(async () => {
      const action = undoStack.pop();
      if (!action) { say("Nothing of yours to undo on this page.", true); return; }
      apply(action.indices, action.before);
      try {
        const data = await post("/cases/" + caseId + "/labels/undo/", { batch: action.batch });
        refreshSummary(data);
        say("Undone: " + action.indices.length + " cell(s) restored.", false);
      } catch (err) {
        apply(action.indices, action.after);
        undoStack.push(action);
        say("Not undone: " + err.message, true);
      }
    });
  }

  // ---- the cell view -------------------------------------------------------------------------
  const panelCache = new Map();
  const image = document.getElementById("cell-image");
  const overlay = document.getElementById("cell-saliency");
  const overlayStatus = document.getElementById("saliency-status");
  const toggle = document.getElementById("saliency-toggle");
  let panelTimer = null;
  let saliencyOn = false;
  let saliencyPoll = null;

  function showCell(i) {
    const c = cells[i];
    image.src = "/cells/" + c.id + "/image/";
    document.getElementById("cell-open").href = image.src;
    clearTimeout(panelTimer);
    panelTimer = setTimeout(() => loadPanel(c.id), 80);
    if (saliencyOn) requestSaliency(c.id);
  }

  async function loadPanel(cellId) {
    let data = panelCache.get(cellId);
    if (!data) {
      const response = await fetch("/cells/" + cellId + "/panel/", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      data = await response.json();
      panelCache.set(cellId, data);
    }
    if (cells[focus].id !== cellId) return;
    const facts = document.getElementById("cell-facts");
    const p = data.prediction;
    const rows = [["Cell", "#" + data.cell + " · " + data.name]];
    if (p) {
      rows.push(["Model's call", (p.label === "all" ? "B · blast (ALL)" : "N · normal (HEM)")]);
      rows.push(["Blast probability", p.probability.toFixed(3)]);
      rows.push(["Uncertainty", "± " + p.uncertainty.toFixed(3) + " (spread over rotations)"]);
      rows.push(["Model version", p.model]);
    } else rows.push(["Model's call", data.model_hidden ? "hidden (blinded read)" : "none yet"]);
    if (data.reads) {
      const reads = Object.entries(data.reads).map(([who, v]) => who + ": " + LABEL_TEXT[v]).join(" · ");
      rows.push(["Readers", reads || "no reads yet"]);
      rows.push(["Final label", data.final ? LABEL_TEXT[data.final] : "none (pending or disputed)"]);
    }
    const fieldLink = document.getElementById("cell-field-link");  // issue 14: back to the field
    if (fieldLink) {
      fieldLink.hidden = !data.field;
      if (data.field) fieldLink.firstElementChild.href = "/fields/" + data.field + "/#cell-" + data.cell;
    }
    facts.innerHTML = "";
    for (const [k, v] of rows) {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      facts.append(dt, dd);
    }
    const history = document.getElementById("cell-history");
    history.innerHTML = "";
    if (!data.history.length) history.innerHTML = '<li class="muted">No label yet.</li>';
    for (const h of data.history) {
      const li = document.createElement("li");
      li.textContent = (h.kind === "adjudication" ? "adjudicated " : "") + (h.value ? LABEL_TEXT[h.value] : "cleared (undo)") +
        " · " + h.user + " · " + h.at.replace("T", " ").slice(0, 16);
      history.append(li);
    }
  }

  function showOverlay(url) {
    overlay.src = url;
    overlay.hidden = false;
    image.hidden = true;
    overlayStatus.hidden = true;
  }

  function hideOverlay(message) {
    overlay.hidden = true;
    image.hidden = false;
    overlayStatus.hidden = !message;
    overlayStatus.textContent = message || "";
  }

  async function requestSaliency(cellId) {
    clearTimeout(saliencyPoll);
    hideOverlay("Computing the saliency overlay…");
    try {
      const data = await post("/cells/" + cellId + "/saliency/");
      if (!saliencyOn || cells[focus].id !== cellId) return;
      if (data.status === "ready") showOverlay(data.url);
      else saliencyPoll = setTimeout(() => requestSaliency(cellId), 1500);
    } catch (err) {
      hideOverlay("No saliency overlay: " + err.message);
    }
  }

  function toggleSaliency() {
    saliencyOn = !saliencyOn;
    toggle.setAttribute("aria-pressed", saliencyOn ? "true" : "false");
    if (saliencyOn && cells.length) requestSaliency(cells[focus].id);
    else { clearTimeout(saliencyPoll); hideOverlay(""); }
  }

  // ---- input ---------------------------------------------------------------------------------
  const help = document.getElementById("keys-help");
  document.getElementById("keys-button").addEventListener("click", () => help.showModal());
  toggle.addEventListener("click", toggleSaliency);

  gallery.addEventListener("click", (event) => {
    const el = event.target.closest("li[data-i]");
    if (!el) return;
    const i = +el.dataset.i;
    if (event.shiftKey) { moveTo(i, { extend: true }); return; }
    if (event.ctrlKey || event.metaKey) {
      const next = new Set(selected);
      next.has(i) ? next.delete(i) : next.add(i);
      setSelection(Array.from(next));
      moveTo(i);
      return;
    }
    if (selected.size) setSelection([]);
    moveTo(i);
  });

  const MOVES = {
    ArrowRight: () => focus + 1, j: () => focus + 1, J: () => focus + 1,
    ArrowLeft: () => focus - 1, k: () => focus - 1, K: () => focus - 1,
    ArrowDown: () => focus + columns(focus), ArrowUp: () => focus - columns(focus),
    Home: () => 0, End: () => cells.length - 1,
  };

  document.addEventListener("keydown", (event) => {
    if (help.open || event.altKey) return;
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select", "button", "a"].includes(tag) && event.target !== gallery) {
      if (event.key !== "?" || tag === "input" || tag === "textarea") return;
    }
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "a") {
      event.preventDefault();
      setSelection(cells.map((_, i) => i));
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    let handled = true;
    if (MOVES[key] && cells.length) moveTo(MOVES[key](), { extend: event.shiftKey });
    else if (KEYS[key.toLowerCase()] && !event.shiftKey) label(KEYS[key.toLowerCase()]);
    else if (key === "Enter") label("model");
    else if (key === " ") {
      const next = new Set(selected);
      next.has(focus) ? next.delete(focus) : next.add(focus);
      setSelection(Array.from(next));
    } else if (key === "Escape") setSelection([]);
    else if (key.toLowerCase() === "z") undo();
    else if (key.toLowerCase() === "s") toggleSaliency();
    else if (key === "?") help.showModal();
    else if (key.toLowerCase() === "f") {
      const button = document.getElementById("signoff-button");
      if (button) button.focus(); else say("There is nothing to sign off here.", true);
    } else handled = false;
    if (handled) event.preventDefault();
  });

  performance.mark("gallery-start");
  render();
  if (pack) pack.then(unpack).then(showThumbnails, () => showThumbnails(null));
  const wanted = /^#cell-(\d+)$/.exec(location.hash);  // issue 14: a cell opened from its field
  const wantedIndex = wanted ? cells.findIndex((c) => c.id === Number(wanted[1])) : -1;
  if (wantedIndex >= 0) moveTo(wantedIndex);
  else if (cells.length) cells[0].el.focus({ preventScroll: true });
  performance.measure("gallery-drawn", "gallery-start");  // read by the browser tests
})();
