/* Controls, keys and the mouse.
 *
 * Keys reach the stepper only while it or one of its controls has the focus, and none of
 * them reaches the notebook: JupyterLab and Notebook 7 skip their shortcuts inside an element
 * marked data-lm-suppress-shortcuts (the root and every control are), and every key the
 * stepper sees stops here, so the classic notebook and VS Code do not act on it either.  Esc
 * hands the focus back to the notebook, whose keys then work again (on a saved page, to the
 * page, which scrolls by them again); the help text says which.
 */
function mgKeys(S) {
  var ui = S.ui, root = S.root;
  ui.slider.max = String(S.last);
  ui.prev.addEventListener("click", function () { S.show(S.position - 1); });
  ui.next.addEventListener("click", function () { S.show(S.position + 1); });
  ui.slider.addEventListener("input", function () { S.show(parseInt(ui.slider.value, 10)); });
  ui["zoom-in"].addEventListener("click", function () { S.zoomBy(1.25); });
  ui["zoom-out"].addEventListener("click", function () { S.zoomBy(0.8); });
  ui.fit.addEventListener("click", function () { S.fit(); });
  ui.actual.addEventListener("click", function () { S.view.k = NATURAL; S.applyView(); });

  function release() {
    var cell = root.closest(".jp-Cell, .cell");
    var notebook = root.closest(".jp-Notebook, #notebook, [tabindex]:not(.mg-stepper)");
    if (document.activeElement && root.contains(document.activeElement)) {
      document.activeElement.blur();
    }
    var target = cell && cell.tabIndex >= 0 ? cell : notebook;
    if (target && target.focus) { target.focus({preventScroll: true}); }
  }
  S.release = release;
  // Where Esc hands the keys: to the notebook, or on a page of its own, to that page.
  Array.prototype.forEach.call(root.querySelectorAll(".mg-esc"), function (text) {
    text.textContent = "Esc gives the keys back to the " + (S.onPage ? "page" : "notebook");
  });
  var ACTIONS = {
    ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1
  };
  root.addEventListener("keydown", function (event) {
    if (event.altKey || event.metaKey || event.ctrlKey) { return; }
    var key = event.key, target = event.target;
    var typing = target.tagName === "INPUT" && target.type !== "range";
    var pressing = /^(BUTTON|SUMMARY)$/.test(target.tagName) && (key === " " || key === "Enter");
    event.stopPropagation();  // nothing of the stepper's reaches the notebook
    if (typing || pressing) { return; }  // the input types, the button presses itself
    if (key === "Escape") { release(); event.preventDefault(); return; }
    if (target === ui.slider && /^Arrow/.test(key)) { return; }  // moves itself
    var by = ACTIONS[key];
    if (key === " " && event.shiftKey) { by = -1; }
    if (by) { S.show(S.position + by); }
    else if (key === "Home") { S.show(0); }
    else if (key === "End") { S.show(S.last); }
    else if (key === "+" || key === "=") { S.zoomBy(1.25); }
    else if (key === "-" || key === "_") { S.zoomBy(0.8); }
    else if (key === "0") { S.fit(); }
    else if (key === "1") { S.view.k = NATURAL; S.applyView(); }
    else if (key === "/") { ui.search.focus({preventScroll: true}); }
    else { return; }
    event.preventDefault();  // Space and PageDown step: they do not scroll the notebook
  });

  var hintTimer = null, hinted = false;
  S.hint = function (text) {
    ui.hint.textContent = text;
    ui.hint.hidden = false;
    clearTimeout(hintTimer);
    hintTimer = setTimeout(function () { ui.hint.hidden = true; }, 2400);
  };
  function focused() { return root.contains(document.activeElement); }
  // The wheel zooms only a stepper that has the focus (or with Ctrl): scrolling past it in
  // a notebook still scrolls the notebook.
  ui.graph.addEventListener("wheel", function (event) {
    if (!focused() && !event.ctrlKey) {
      if (!hinted) { S.hint("click the stepper first: then the wheel zooms"); }
      hinted = true;  // once: scrolling past a stepper should not keep flashing at you
      return;
    }
    event.preventDefault();
    S.zoomBy(Math.pow(1.0015, -event.deltaY * (event.deltaMode === 1 ? 16 : 1)),
             event.clientX, event.clientY);
  }, {passive: false});

  var drag = null;
  ui.graph.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || event.target.closest(".mg-tools, .mg-minimap")) { return; }
    root.focus({preventScroll: true});
    drag = {x: event.clientX, y: event.clientY, cx: S.view.cx, cy: S.view.cy, moved: false,
            target: event.target};
    ui.graph.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  ui.graph.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
    drag.moved = true;
    ui.graph.classList.add("mg-dragging");
    S.view.cx = drag.cx - dx / S.view.k;
    S.view.cy = drag.cy - dy / S.view.k;
    S.applyView();
  });
  function endDrag(event) {
    if (!drag) { return; }
    var was = drag;
    drag = null;
    ui.graph.classList.remove("mg-dragging");
    if (ui.graph.hasPointerCapture(event.pointerId)) {
      ui.graph.releasePointerCapture(event.pointerId);
    }
    if (was.moved || event.type === "pointercancel") { return; }
    // A click on a value (or on its copy beside an op) goes to the step that completes its
    // grad.
    var hit = was.target.closest && was.target.closest("g.node");
    var id = hit && hit.id.slice(S.prefix.length).replace(/_op$|_at_\w+$/, "");
    if (id && S.valueById.has(id)) { S.pick(S.valueById.get(id)); }
  }
  ui.graph.addEventListener("pointerup", endDrag);
  ui.graph.addEventListener("pointercancel", endDrag);
  // Clicking anywhere inside gives the stepper the focus (and so its keys).
  root.addEventListener("mousedown", function (event) {
    if (!event.target.closest("input, button, select, textarea, summary, a")) {
      root.focus({preventScroll: true});
    }
  });
  // The classic notebook's own keys stand aside while the stepper has the focus.
  try {
    var jupyter = window.Jupyter;
    if (jupyter && jupyter.keyboard_manager && jupyter.keyboard_manager.register_events) {
      jupyter.keyboard_manager.register_events(root);
    }
  } catch (ignored) { /* not the classic notebook */ }
}
