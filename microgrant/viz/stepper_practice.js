/* Practice: predict, then reveal.
 *
 * Python left the numbers each step computes out of the page: the picture shows "?" where
 * they go, the text has blanks, and the answers travel encoded (S.secret).  A step's numbers
 * appear once the learner has typed them: right (to the shown precision) fills the blank and
 * moves on; a miss shows the formula with the numbers in, and the blank waits.  The page keeps
 * a score per op; "start again" hides everything again.
 */
function mgPractice(S) {
  var ui = S.ui, steps = S.steps, secret = S.secret;
  if (!secret) { return; }
  ui.practice.hidden = false;
  var answered = steps.map(function (step, k) { return k === 0; });
  var missed = {}, score = {};
  var masked = {};  // the picture's "?" texts, to hide the numbers again on a restart
  Object.keys(secret.texts).forEach(function (id) {
    var element = S.find(id);
    if (element) {
      masked[id] = Array.prototype.map.call(element.querySelectorAll("text"),
                                            function (t) { return t.textContent; });
    }
  });
  function setTexts(id, texts) {
    var element = S.find(id);
    if (!element || !texts) { return; }
    Array.prototype.forEach.call(element.querySelectorAll("text"), function (t, i) {
      if (i < texts.length) { t.textContent = texts[i]; }
    });
  }
  S.known = function (k) { return answered[k]; };
  S.limit = function () {
    var k = answered.indexOf(false);
    return k < 0 ? S.last : k;
  };
  S.revealed = function (k) {
    if (!answered[k]) { return; }
    (steps[k].reveal || []).forEach(function (id) { setTexts(id, secret.texts[id]); });
  };
  function showScore() {
    var ops = Object.keys(score).sort();
    ui.score.textContent = ops.length ? "First try: " + ops.map(function (op) {
      return op + ": " + score[op].first + " of " + score[op].all;
    }).join(" \u00b7 ") : "Score: none yet (per op, right at the first try)";
  }
  function complete(k) {
    answered[k] = true;
    var op = steps[k].op || "op";
    score[op] = score[op] || {first: 0, all: 0};
    score[op].all += 1;
    if (!missed[k]) { score[op].first += 1; }
    showScore();
    S.refresh();
    if (S.fillChecks) { S.fillChecks(S.known); }
    ui.feedback.textContent = "\u2713 right: step " + k + " done" +
      (k < S.last ? "; on to step " + (k + 1) + "." : ". Every step is done.");
    ui.feedback.className = "mg-feedback mg-right";
    if (k < S.last) { S.show(k + 1, true); } else { S.show(k, true); }
  }
  function check(k, j, input, blanks) {
    var typed = input.value.trim().replace(/\u2212/g, "-").replace(/,/g, ".");
    var value = Number(typed), answer = secret.steps[k].answers[j];
    if (typed !== "" && isFinite(value) && value >= answer.range[0] && value <= answer.range[1]) {
      input.value = answer.shown;
      input.disabled = true;
      input.classList.add("mg-right");
      var next = blanks.filter(function (b) { return !b.disabled; })[0];
      if (next) {
        ui.feedback.textContent = "\u2713 " + answer.shown;
        ui.feedback.className = "mg-feedback mg-right";
        next.focus({preventScroll: true});
      } else {
        complete(k);
      }
    } else {
      missed[k] = true;
      ui.feedback.textContent = (typed === "" ? "type a number. " : "not quite (" + typed +
        "). ") + answer.hint + ". Try again.";
      ui.feedback.className = "mg-feedback mg-miss";
      input.select();
    }
  }
  // Each position: the blanks of a step not yet answered, or its whole text.
  S.onShow = function (k) {
    ui.blanks.textContent = "";
    if (answered[k]) {
      ui.equation.textContent = secret.steps[k].text;
      return;
    }
    // The upstream grad was an earlier step's answer: known now, written in now.
    var up = secret.steps[k];
    function filled(text) {
      return text.split("{(up)}").join(up.up_factor).split("{up}").join(up.up);
    }
    ui.equation.textContent = filled(steps[k].text);
    var blanks = [];
    (steps[k].blanks || []).forEach(function (label, j) {
      label = filled(label);
      var row = node("label", "mg-blank");
      row.appendChild(node("span", "", "[?" + (j + 1) + "]  " + label + " = "));
      var input = control(node("input"));
      input.type = "text";
      input.setAttribute("inputmode", "decimal");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("aria-label", label);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { check(k, j, input, blanks); event.preventDefault(); }
        else if (event.key === "Escape") { S.root.focus({preventScroll: true}); }
        event.stopPropagation();
      });
      row.appendChild(input);
      var button = control(node("button", "", "check"));
      button.type = "button";
      button.addEventListener("click", function () { check(k, j, input, blanks); });
      row.appendChild(button);
      blanks.push(input);
      ui.blanks.appendChild(row);
    });
    if (blanks.length && S.root.contains(document.activeElement)) {
      blanks[0].focus({preventScroll: true});
    }
  };
  ui.reset.addEventListener("click", function () {
    answered = steps.map(function (step, k) { return k === 0; });
    missed = {};
    score = {};
    Object.keys(masked).forEach(function (id) { setTexts(id, masked[id]); });
    ui.feedback.textContent = "";
    showScore();
    S.show(0);
    S.refresh();
    if (S.fillChecks) { S.fillChecks(S.known); }
  });
  showScore();
}
