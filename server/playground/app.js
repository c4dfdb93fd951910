// The srgs grammar playground: talks to /playground/* (server/playground_api.py).
// No framework, nothing loaded from elsewhere; every text from the server or the user is put in
// the page as text (textContent), never as markup. The one exception, the automaton's SVG, is
// parsed as SVG and stripped of scripts and event attributes before it is shown.
"use strict";

(() => {
  const SOURCE = "<playground>"; // how the server names the pasted grammar in problems
  const CHECK_DELAY_MS = 500;
  const STORE_KEY = "srgs-playground";

  const $ = (id) => document.getElementById(id);
  const grammar = $("grammar"), backdrop = $("backdrop"), gutter = $("gutter");
  const problemsList = $("problems"), checkSummary = $("check-summary"), formBadge = $("form");
  const builtin = $("builtin"), examples = $("examples"), textInput = $("text"), nbest = $("nbest");
  const resultBox = $("result"), treeBox = $("tree"), resultStatus = $("result-status");
  const drawing = $("drawing"), drawingInfo = $("drawing-info"), status = $("status");

  let problems = [];        // the last check's problems in the pasted grammar: {line, column, message}
  let checkTimer = null;
  let checkSequence = 0;    // answers to an older check are dropped
  let renderedGutter = "";  // what the gutter shows now: line count and problems

  // --- talking to the server -------------------------------------------------------------------

  async function call(method, path, body) {
    const started = performance.now();
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: body === undefined ? {} : {"Content-Type": "application/json"},
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return {ok: false, data: {error: {code: "NETWORK", message: `the server did not answer (${error.message})`}}};
    }
    let data;
    try {
      data = await response.json();
    } catch (error) {
      data = {error: {code: "BAD_RESPONSE", message: `HTTP ${response.status}: the answer is not JSON`}};
    }
    return {ok: response.ok, status: response.status, data, ms: performance.now() - started};
  }

  function say(message, kind = "") {
    status.textContent = message;
    status.className = kind;
  }

  function errorText(data) {
    return data && data.error ? `${data.error.code}: ${data.error.message}` : "unknown error";
  }

  // --- the editor: line numbers, problems marked at their positions ---------------------------

  function renderEditor() {
    const text = grammar.value;
    const lines = text.split("\n");
    const byLine = new Map();
    for (const problem of problems) {
      if (!problem.line) continue;
      if (!byLine.has(problem.line)) byLine.set(problem.line, []);
      byLine.get(problem.line).push(problem);
    }
    // gutter: one number a line, marked (with the messages as a tooltip) where a problem is;
    // rebuilt only when the line count or the problems change, not on every key
    const gutterKey = `${lines.length}:${problems.map((p) => `${p.line}:${p.column}:${p.message}`).join("|")}`;
    if (gutterKey !== renderedGutter) {
      renderedGutter = gutterKey;
      const numbers = document.createDocumentFragment();
      for (let n = 1; n <= lines.length; n += 1) {
        const cell = document.createElement("div");
        cell.textContent = String(n);
        const here = byLine.get(n);
        if (here) {
          cell.className = "error";
          cell.title = here.map((p) => `${p.line}:${p.column ?? "?"} ${p.message}`).join("\n");
        }
        numbers.appendChild(cell);
      }
      gutter.replaceChildren(numbers);
    }
    // backdrop: the same text, invisible, under the textarea; problem lines banded, the
    // character at the problem's column underlined (the lines between as one text node)
    const marked = document.createDocumentFragment();
    let plain = [];
    lines.forEach((line, index) => {
      const here = byLine.get(index + 1);
      if (!here) {
        plain.push(line + "\n");
        return;
      }
      if (plain.length) marked.appendChild(document.createTextNode(plain.join("")));
      plain = [];
      const band = document.createElement("span");
      band.className = "error-line";
      const columns = [...new Set(here.map((p) => (p.column || 1) - 1))].sort((a, b) => a - b);
      let at = 0;
      for (const column of columns) {
        if (column < at) continue;
        band.appendChild(document.createTextNode(line.slice(at, column)));
        const spot = document.createElement("span");
        spot.className = "error-spot";
        spot.textContent = column < line.length ? line[column] : " ";
        band.appendChild(spot);
        at = column + 1;
      }
      band.appendChild(document.createTextNode(line.slice(at)));
      marked.appendChild(band);
      plain.push("\n");
    });
    if (plain.length) marked.appendChild(document.createTextNode(plain.join("")));
    backdrop.replaceChildren(marked);
    syncScroll();
  }

  function syncScroll() {
    backdrop.scrollTop = grammar.scrollTop;
    backdrop.scrollLeft = grammar.scrollLeft;
    gutter.scrollTop = grammar.scrollTop;
  }

  function goTo(line, column) {
    const lines = grammar.value.split("\n");
    let offset = 0;
    for (let n = 1; n < line && n <= lines.length; n += 1) offset += lines[n - 1].length + 1;
    offset += Math.max(0, (column || 1) - 1);
    grammar.focus();
    grammar.setSelectionRange(offset, offset + 1);
    const lineHeight = parseFloat(getComputedStyle(grammar).lineHeight) || 18;
    grammar.scrollTop = Math.max(0, (line - 3) * lineHeight);
    syncScroll();
  }

  function showProblems(records, summary, kind) {
    problems = records.filter((r) => r.file === SOURCE || r.file === null);
    problemsList.replaceChildren(...records.map((record) => {
      const item = document.createElement("li");
      const where = document.createElement(record.file === SOURCE && record.line ? "button" : "span");
      where.className = "where";
      const position = record.line ? `${record.line}:${record.column ?? "?"}` : "";
      where.textContent = record.file === SOURCE || record.file === null ? (position || "grammar")
        : `${record.file}${position ? ":" + position : ""}`;
      if (where.tagName === "BUTTON") {
        where.type = "button";
        where.title = "show it in the grammar";
        where.addEventListener("click", () => goTo(record.line, record.column));
      }
      const message = document.createElement("span");
      message.className = "message";
      message.textContent = `${record.severity || "error"}: ${record.message}`;
      item.append(where, message);
      return item;
    }));
    checkSummary.textContent = summary;
    checkSummary.className = `summary ${kind}`;
    renderEditor();
  }

  // --- check -------------------------------------------------------------------------------------

  async function check() {
    clearTimeout(checkTimer);
    const text = grammar.value;
    save();
    if (!text.trim()) {
      formBadge.textContent = "";
      showProblems([], "Paste a grammar or pick a built-in.", "");
      return;
    }
    const sequence = ++checkSequence;
    checkSummary.textContent = "checking...";
    const answer = await call("POST", "/playground/check", {grammar: text});
    if (sequence !== checkSequence) return; // the grammar changed since
    if (!answer.ok) {
      showProblems(answer.data.errors || [], errorText(answer.data), "bad");
      return;
    }
    const report = answer.data;
    formBadge.textContent = {xml: "XML", abnf: "ABNF"}[report.form] || "";
    if (report.ok) {
      const root = report.root ? `root $${report.root}, ` : "";
      const refs = report.referenced_grammars ? `, ${report.referenced_grammars} referenced grammar(s)` : "";
      showProblems([], `OK: ${report.mode} grammar, ${root}${report.rules} rule(s)${refs}.`, "good");
    } else {
      const count = report.errors.length;
      showProblems(report.errors, `${count} problem${count === 1 ? "" : "s"}:`, "bad");
    }
    say(`checked in ${Math.round(answer.ms)} ms`);
  }

  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, CHECK_DELAY_MS);
  }

  // --- interpret ---------------------------------------------------------------------------------

  function showTree(parses) {
    if (!parses.length) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = "no parse";
      treeBox.replaceChildren(none);
      return;
    }
    treeBox.replaceChildren(...parses.map((parse, index) => {
      const box = document.createElement("div");
      box.className = "parse";
      const head = document.createElement("div");
      head.className = "parse-head";
      head.textContent = `#${index + 1} "${parse.text}"  score ${parse.score}  value ${JSON.stringify(parse.value)}`;
      const notation = document.createElement("code");
      notation.className = "notation";
      notation.textContent = parse.notation;
      const nodes = document.createElement("div");
      nodes.className = "nodes";
      for (const node of parse.nodes) {
        const row = document.createElement("div");
        row.className = `node ${node.kind}`;
        row.style.paddingLeft = `${node.depth * 1.25}em`;
        if (node.kind === "token") {
          const words = node.words.join(" ");
          row.textContent = `"${node.text}"` + (words && words !== node.text ? `  (${words})` : "");
        } else if (node.kind === "tag") {
          row.textContent = `{${node.text}}`;
        } else if (node.kind === "garbage") {
          row.textContent = `$GARBAGE (${node.text})`;
        } else {
          row.textContent = node.text;
        }
        nodes.appendChild(row);
      }
      box.append(head, notation, nodes);
      return box;
    }));
  }

  async function interpret(event) {
    if (event) event.preventDefault();
    save();
    const button = $("interpret");
    button.disabled = true;
    resultStatus.textContent = "interpreting...";
    resultStatus.className = "summary";
    try {
      const answer = await call("POST", "/playground/interpret",
                                {grammar: grammar.value, text: textInput.value, nbest: Number(nbest.value)});
      if (!answer.ok) {
        resultBox.textContent = JSON.stringify(answer.data, null, 2);
        treeBox.replaceChildren();
        resultStatus.textContent = errorText(answer.data);
        resultStatus.className = "summary bad";
        if (answer.data.errors) showProblems(answer.data.errors, "The grammar has problems:", "bad");
        return;
      }
      const result = answer.data.result;
      resultBox.textContent = JSON.stringify(result, null, 2);
      showTree(answer.data.parses);
      const kind = {RECOGNIZED: "good", NO_MATCH: "", FAILURE: "bad"}[result.result_status] ?? "";
      resultStatus.textContent = result.result_status + (result.error ? `: ${result.error.message}` : "");
      resultStatus.className = `summary ${kind}`;
      say(`interpreted in ${Math.round(answer.ms)} ms`);
    } finally {
      button.disabled = false;
    }
  }

  // --- draw --------------------------------------------------------------------------------------

  function safeSvg(text) {
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = parsed.documentElement;
    if (!svg || svg.nodeName !== "svg" || parsed.getElementsByTagName("parsererror").length) return null;
    for (const bad of svg.querySelectorAll("script, foreignObject, iframe, object, embed")) bad.remove();
    for (const element of [svg, ...svg.querySelectorAll("*")]) {
      for (const attribute of [...element.attributes]) {
        const name = attribute.name.toLowerCase();
        if (name.startsWith("on") || ((name === "href" || name === "xlink:href") && !attribute.value.startsWith("#"))) {
          element.removeAttribute(attribute.name);
        }
      }
    }
    return document.importNode(svg, true);
  }

  async function draw() {
    save();
    const button = $("draw");
    button.disabled = true;
    drawingInfo.textContent = "drawing...";
    drawingInfo.className = "summary";
    try {
      const acceptor = $("acceptor").checked;
      const answer = await call("POST", "/playground/draw", {grammar: grammar.value, acceptor});
      if (!answer.ok) {
        drawing.replaceChildren();
        drawingInfo.textContent = errorText(answer.data);
        drawingInfo.className = "summary bad";
        if (answer.data.errors) showProblems(answer.data.errors, "The grammar has problems:", "bad");
        return;
      }
      const svg = safeSvg(answer.data.svg);
      if (!svg) {
        drawing.replaceChildren();
        drawingInfo.textContent = "the drawing could not be read";
        drawingInfo.className = "summary bad";
        return;
      }
      drawing.replaceChildren(svg);
      drawing.scrollLeft = 0; // the start state is at the left, half way down
      drawing.scrollTop = Math.max(0, (drawing.scrollHeight - drawing.clientHeight) / 2);
      drawingInfo.textContent = `${acceptor ? "token acceptor" : "transducer"}: ${answer.data.states} states, ` +
        `${answer.data.arcs} arcs`;
      say(`drawn in ${Math.round(answer.ms)} ms`);
    } finally {
      button.disabled = false;
    }
  }

  // --- built-ins ---------------------------------------------------------------------------------

  let catalogue = [];

  function setExamples(list) {
    examples.replaceChildren(...list.map((text) => {
      const option = document.createElement("option");
      option.value = text;
      return option;
    }));
  }

  async function pick(uri) {
    const entry = catalogue.find((g) => g.uri === uri);
    if (!entry) return;
    const answer = await call("GET", `/playground/source?uri=${encodeURIComponent(uri)}`);
    if (!answer.ok) {
      say(errorText(answer.data), "bad");
      return;
    }
    grammar.value = answer.data.text;
    grammar.scrollTop = 0;
    setExamples(entry.examples);
    textInput.value = entry.examples[0] || "";
    resultBox.textContent = "";
    treeBox.replaceChildren();
    resultStatus.textContent = "";
    drawing.replaceChildren();
    drawingInfo.textContent = "";
    await check();
  }

  async function loadCatalogue() {
    const answer = await call("GET", "/playground/builtins");
    if (!answer.ok) {
      say(`built-ins: ${errorText(answer.data)}`, "bad");
      return;
    }
    catalogue = answer.data.grammars;
    const groups = new Map([["examples", "Examples"], ["grammar", "Voice grammars"], ["dtmf", "DTMF grammars"]]);
    for (const [kind, label] of groups) {
      const group = document.createElement("optgroup");
      group.label = label;
      for (const entry of catalogue.filter((g) => g.kind === kind)) {
        const option = document.createElement("option");
        option.value = entry.uri;
        option.textContent = entry.label;
        group.appendChild(option);
      }
      if (group.children.length) builtin.appendChild(group);
    }
  }

  // --- keeping the work across reloads -----------------------------------------------------------

  function save() {
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify({grammar: grammar.value, text: textInput.value,
                                                      builtin: builtin.value}));
    } catch (error) { /* storage full or disabled: nothing to keep */ }
  }

  function restore() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    } catch (error) {
      return null;
    }
  }

  // --- wiring ------------------------------------------------------------------------------------

  grammar.addEventListener("input", () => {
    builtin.value = "";
    renderEditor();
    scheduleCheck();
  });
  grammar.addEventListener("scroll", syncScroll);
  grammar.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      check();
    }
  });
  $("check").addEventListener("click", check);
  $("interpret-form").addEventListener("submit", interpret);
  $("draw").addEventListener("click", draw);
  $("fit").addEventListener("change", (event) => drawing.classList.toggle("fit", event.target.checked));
  builtin.addEventListener("change", () => {
    if (builtin.value) pick(builtin.value);
  });
  new ResizeObserver(syncScroll).observe(grammar);

  (async () => {
    await loadCatalogue();
    const kept = restore();
    if (kept && kept.grammar) {
      grammar.value = kept.grammar;
      textInput.value = kept.text || "";
      const entry = catalogue.find((g) => g.uri === kept.builtin);
      if (entry) {
        builtin.value = entry.uri;
        setExamples(entry.examples);
      }
      await check();
    } else if (catalogue.some((g) => g.uri === "builtin:examples/yesno")) {
      builtin.value = "builtin:examples/yesno";
      await pick(builtin.value);
    } else {
      renderEditor();
    }
    document.body.dataset.ready = "true";
  })();
})();
