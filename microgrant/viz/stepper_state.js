/* The stepper's state: which steps are done, which numbers are known, the current step.
 *
 * Python did the backprop: it drew the backward graph once and wrote the steps as data (for
 * each position, the elements to highlight, the chain-rule text, the numbers that become known
 * there), every number already formatted.  This part only moves between positions, toggling
 * CSS classes.  Moving one step costs the size of that step, never the number of steps: a
 * count per element says how many done steps touch it, so step 2,500 is as quick as step 1.
 *
 * The parts of the script share one object, S (this stepper: its elements, data, functions).
 */
var SVG_NS = "http://www.w3.org/2000/svg";
var NATURAL = 4 / 3;  // CSS pixels per SVG unit at natural size: Graphviz's units are points

function node(tag, className, text) {
  var element = document.createElement(tag);
  if (className) { element.className = className; }
  if (text !== undefined) { element.textContent = text; }
  return element;
}

// Every focusable control keeps the notebook's shortcuts off while it has the focus.
function control(element) {
  element.setAttribute("data-lm-suppress-shortcuts", "true");
  return element;
}

function mgState(S) {
  var steps = S.steps;
  // Every element of this stepper by its own id (without the uid): looked up once, inside
  // this root only, so a second copy of the same stepper on the page cannot steal them.
  var byId = new Map(), prefix = S.prefix;
  Array.prototype.forEach.call(S.root.querySelectorAll("[id]"), function (element) {
    if (element.id.lastIndexOf(prefix, 0) === 0) {
      var own = element.id.slice(prefix.length);
      if (!byId.has(own)) { byId.set(own, element); }
    }
  });
  // A grad cell's group is written by Graphviz as "a_" + the cell's id.
  S.find = function (id) { return byId.get(id) || byId.get("a_" + id) || null; };

  var stepElements = new Array(steps.length);
  S.elementsOf = function (k) {
    if (!stepElements[k]) {
      var seen = new Set();
      (steps[k].ids || []).forEach(function (id) {
        var element = S.find(id);
        if (element) { seen.add(element); }
      });
      stepElements[k] = Array.from(seen);
    }
    return stepElements[k];
  };
  S.revealAt = steps.map(function (step) {
    return (step.reveal || []).map(S.find).filter(Boolean);
  });

  // Which step completes each value's grad, for search and clicks.
  var completes = new Map();
  steps.forEach(function (step, k) {
    (step.reveal || []).forEach(function (id) {
      if (/_grad$/.test(id)) { completes.set(id.slice(0, -5), k); }
    });
  });
  S.completingStep = function (id) {
    if (completes.has(id)) { return completes.get(id); }
    var used = -1, own = -1;
    for (var k = 0; k < steps.length; k++) {
      if (steps[k].node === id) { own = k; }
      else if ((steps[k].ids || []).indexOf(id) >= 0) { used = k; }
    }
    return used >= 0 ? used : (own >= 0 ? own : 0);
  };

  var doneCount = new Map(), current = [], shownUpTo = 0;
  S.position = 0;
  S.current = function () { return current; };
  function markDone(k, on) {
    S.elementsOf(k).forEach(function (element) {
      var count = (doneCount.get(element) || 0) + (on ? 1 : -1);
      doneCount.set(element, count);
      if (on && count === 1) { element.classList.add("mg-done"); }
      else if (!on && count === 0) { element.classList.remove("mg-done"); }
    });
  }
  function pend(k, on) {
    S.revealAt[k].forEach(function (element) { element.classList.toggle("mg-pending", on); });
    if (!on && S.revealed) { S.revealed(k); }
  }
  // Whether the numbers of step k may show (practice mode holds them until answered).
  S.known = S.known || function () { return true; };
  // Numbers are shown for positions 1 .. upTo; everything else starts hidden.
  function showUpTo(upTo) {
    var i;
    for (i = shownUpTo + 1; i <= upTo; i++) { pend(i, false); }
    for (i = shownUpTo; i > upTo; i--) { pend(i, true); }
    shownUpTo = upTo;
  }
  for (var k0 = 1; k0 < S.revealAt.length; k0++) { pend(k0, true); }

  S.move = function (target) {
    var i, position = S.position;
    // Steps 1 .. position-1 are done (the seed, position 0, is never "done").
    if (target > position) {
      for (i = Math.max(1, position); i < target; i++) { markDone(i, true); }
    } else if (target < position) {
      for (i = position - 1; i >= Math.max(1, target); i--) { markDone(i, false); }
    }
    showUpTo(S.known(target) ? target : target - 1);
    current.forEach(function (element) { element.classList.remove("mg-current"); });
    current = S.elementsOf(target);
    current.forEach(function (element) { element.classList.add("mg-current"); });
    S.position = target;
  };
  // After an answer: the numbers of the current step show, where they stand.
  S.refresh = function () {
    showUpTo(S.known(S.position) ? S.position : S.position - 1);
  };
}
