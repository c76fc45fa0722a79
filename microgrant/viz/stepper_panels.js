/* The side panels: the step list grouped by layer, finding a value by name, the gradient
 * check (chain rule beside finite difference, numbers formatted by Python) and the legend. */
function mgPanels(S) {
  var ui = S.ui, steps = S.steps, data = S.data;
  var groupOf = new Array(steps.length), itemOf = new Array(steps.length);
  var index = new Map(), groups = [];
  var seed = control(node("button", "", "start: the seed"));
  seed.type = "button";
  seed.addEventListener("click", function () { S.show(0); });
  itemOf[0] = seed;
  ui.groups.appendChild(seed);
  function buildItems(group) {
    if (group.built || !group.details.open) { return; }
    group.built = true;
    var box = node("div", "mg-items");
    group.steps.forEach(function (k) {
      var step = steps[k];
      var item = control(node("button", step.drawn === false ? "mg-undrawn" : "",
                              k + " \u00b7 " + (step.name || step.node || "")));
      item.type = "button";
      item.title = step.drawn === false ? "not in the picture (max_nodes)" : "";
      item.addEventListener("click", function () { S.show(k); });
      itemOf[k] = item;
      box.appendChild(item);
    });
    group.details.appendChild(box);
    S.markListed(S.position, true);
  }
  for (var k = 1; k < steps.length; k++) {
    var name = steps[k].group || "other steps";
    if (!index.has(name)) {
      var details = node("details"), summary = control(node("summary"));
      details.appendChild(summary);
      var group = {name: name, steps: [], details: details, summary: summary, built: false};
      index.set(name, group);
      groups.push(group);
      ui.groups.appendChild(details);
      details.addEventListener("toggle", buildItems.bind(null, group));
    }
    index.get(name).steps.push(k);
    groupOf[k] = index.get(name);
  }
  groups.forEach(function (group) {
    var n = group.steps.length;
    group.summary.textContent = group.name + " \u00b7 " + n + (n === 1 ? " step" : " steps");
  });
  // Scroll the list's own box, never the page: a notebook must not jump.
  S.markListed = function (k, on) {
    var item = itemOf[k], list = ui.groups;
    if (item) {
      item.classList.toggle("mg-here", on);
      if (on && item.offsetParent) {
        var top = item.offsetTop - list.offsetTop, bottom = top + item.offsetHeight;
        if (top < list.scrollTop) { list.scrollTop = top; }
        else if (bottom > list.scrollTop + list.clientHeight) {
          list.scrollTop = bottom - list.clientHeight;
        }
      }
    }
    if (groupOf[k]) { groupOf[k].summary.classList.toggle("mg-here", on); }
  };
  mgSearch(S);
  mgChecks(S);
  (data.legend || []).forEach(function (pair) {
    var swatch = node("span", "mg-swatch");
    swatch.style.background = pair[0];
    ui.legend.appendChild(swatch);
    ui.legend.appendChild(document.createTextNode(pair[1]));
  });
}

function mgChecks(S) {
  var ui = S.ui, checks = S.data.checks || [], secret = S.secret;
  if (!checks.length) { ui.checks.hidden = true; return; }
  var agree = 0, disagree = 0, skipped = 0;
  checks.forEach(function (c) {
    if (c.agree === true) { agree++; } else if (c.agree === false) { disagree++; }
    else { skipped++; }
  });
  var details = node("details"), summary = control(node("summary"));
  summary.textContent = secret ? "Gradient check: each leaf's row fills in once you have " +
    "computed its grad" : "Gradient check: " + agree + " of " + checks.length +
    " leaves agree" + (disagree ? ", " + disagree + " disagree" : "") +
    (skipped ? ", " + skipped + " not checked" : "");
  summary.id = S.prefix + "checks-summary";
  details.appendChild(summary);
  var note = S.data.check_note ? S.data.check_note + ". " : "";
  details.appendChild(node("div", "mg-muted", note + "each leaf's grad by the chain rule, " +
    "and by a finite difference (nudge the leaf by \u00b1h, run forward again)"));
  var table = node("table"), head = node("tr");
  ["leaf", "chain rule", "finite diff.", ""].forEach(function (t) {
    head.appendChild(node("th", "", t));
  });
  table.appendChild(head);
  var rows = new Map();
  checks.forEach(function (c, i) {
    var row = node("tr"), cells = [c.name, "?", "?", "?"];
    if (!secret) {
      cells = [c.name, c.grad_text, c.numeric_text, c.agree === true ? "\u2713 agree"
        : c.agree === false ? "\u2717 disagree" : "\u2013"];
    }
    cells.forEach(function (t) { row.appendChild(node("td", "", t)); });
    row.title = c.reason || ("go to the step that completes " + c.name + "'s grad");
    row.addEventListener("click", function () {
      S.pick(S.valueById.get(c.id) || {id: c.id, name: c.name, kind: "leaf", drawn: true});
    });
    rows.set(c.id, {row: row, index: i});
    table.appendChild(row);
    if (!secret) { fillCheck(row, c); }
  });
  function fillCheck(row, c) {
    row.cells[1].textContent = c.grad_text;
    row.cells[2].textContent = c.numeric_text;
    row.cells[3].textContent = c.agree === true ? "\u2713 agree"
      : c.agree === false ? "\u2717 disagree" : "\u2013";
    row.cells[3].className = c.agree === true ? "mg-agree"
      : c.agree === false ? "mg-disagree" : "mg-muted";
    if (c.reason && !row.mgWhy) {
      row.mgWhy = true;
      var why = node("tr", "mg-why"), cell = node("td", "", c.reason);
      cell.colSpan = 4;
      why.appendChild(cell);
      row.parentNode.insertBefore(why, row.nextSibling);
    }
  }
  // Practice: a leaf's row shows once the step that completes its grad is answered.
  S.fillChecks = function (known) {
    rows.forEach(function (entry, id) {
      var now = known(S.completingStep(id));
      if (now && !entry.filled) {
        fillCheck(entry.row, Object.assign({}, checks[entry.index], secret.checks[entry.index]));
      } else if (!now && entry.filled) {  // started again: hidden again
        [1, 2, 3].forEach(function (i) { entry.row.cells[i].textContent = "?"; });
        var why = entry.row.mgWhy && entry.row.nextSibling;
        if (why) { why.parentNode.removeChild(why); }
        entry.row.mgWhy = false;
      }
      entry.filled = now;
    });
  };
  var scroll = node("div", "mg-check-table");
  scroll.appendChild(table);
  details.appendChild(scroll);
  // Open when there is something to look at: a disagreement, or few enough to read.
  details.open = disagree > 0 || checks.length <= 12;
  ui.checks.appendChild(details);
}
