/* Finding a value by name: the step that completes its grad, and the value in the view. */
function mgSearch(S) {
  var ui = S.ui, values = S.values, found = null;
  function matches(query) {
    var q = query.trim().toLowerCase();
    if (!q) { return []; }
    var exact = [], starts = [], contains = [];
    for (var i = 0; i < values.length; i++) {
      var v = values[i], name = String(v.name).toLowerCase();
      if (name === q || v.id === q) { exact.push(v); }
      else if (name.lastIndexOf(q, 0) === 0) { starts.push(v); }
      else if (name.indexOf(q) >= 0) { contains.push(v); }
      if (exact.length + starts.length >= 40) { break; }
    }
    return exact.concat(starts, contains).slice(0, 40);
  }
  S.matches = matches;
  S.pick = function (value) {
    var k = S.show(S.completingStep(value.id));
    if (found) { found.classList.remove("mg-found"); found = null; }
    var element = value.drawn === false ? null : S.find(value.id);
    var said = value.name + (value.name !== value.id ? " (" + value.id + ")" : "");
    var when = value.kind === "constant" ? "a constant (no grad); used at step " + k
      : k === 0 ? "the output: its grad is the seed, 1"
      : "its grad is complete after step " + k;
    if (element) {
      found = element;
      element.classList.add("mg-found");
      S.centreOn(element, true);
      ui.found.textContent = said + ": " + when + ".";
    } else {
      ui.found.textContent = said + " is not in the picture: max_nodes left it out; " +
        when + ".";
    }
    return k;
  };
  function listMatches() {
    var list = matches(ui.search.value);
    ui.results.textContent = "";
    list.slice(0, 12).forEach(function (v) {
      var item = control(node("button", v.drawn === false ? "mg-undrawn" : "",
                              v.name + (v.name !== v.id ? "  \u00b7 " + v.id : "") +
                              "  \u00b7 " + v.kind + (v.drawn === false ? ", not drawn" : "")));
      item.type = "button";
      item.setAttribute("role", "option");
      item.addEventListener("click", function () { S.pick(v); });
      ui.results.appendChild(item);
    });
    if (ui.search.value.trim() && !list.length) {
      ui.results.appendChild(node("span", "mg-muted", "no value is named like that"));
    }
    return list;
  }
  ui.search.addEventListener("input", listMatches);
  ui.search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      var list = matches(ui.search.value);
      if (list.length) { S.pick(list[0]); }
      event.preventDefault();
    } else if (event.key === "Escape") {
      ui.search.value = "";
      listMatches();
      S.root.focus({preventScroll: true});
      event.preventDefault();
    }
    event.stopPropagation();  // typing is not stepping, and not the notebook's either
  });
}
