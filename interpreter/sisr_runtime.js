/*
 * SISR 1.0 runtime (W3C Recommendation 2007), evaluated once per script context.
 *
 * The value of this file is a function api(name) giving "define", "run" and "position"; it is
 * handed to the host only, never stored in a global, so tag code cannot reach or replace it.
 *
 * Isolation (SISR §3, untrusted scripts): every object reachable from the global object is
 * frozen once, the global object's own properties are locked, and globals that tags create are
 * deleted after each interpretation. Data properties such as toString or constructor on the
 * frozen prototypes become accessors, so `out.toString = f` still makes an own property.
 *
 * Events (made by interpreter/sisr.py from a parse tree), one flat array per interpretation:
 *   [grammar, "rule"]  a rule starts (its events follow, then -1)
 *   "words"            input words matched by a token or $GARBAGE, joined by single spaces
 *   k >= 0             script tag k of the current rule runs (semantics/1.0)
 *   [-1, value]        a tag that only assigns a primitive: out = value (next() gives -2 and
 *                      leaves the value in walker.value); its text never becomes script
 *   ["text"]           a semantics/1.0-literals tag: the rule's value becomes "text"
 *   [-3, "rule", value, "text"]
 *                      a child rule the host evaluated itself (its tags only assign primitives
 *                      or copy a child's value): it counts as the child rule "rule" with that
 *                      value and text, as if it had been run here
 *   -1                 the current rule ends
 *
 * A rule without script tags runs in a light frame: no `rules` / `meta` objects (no tag can
 * see them), only what default assignment needs.
 */
(function () {
  "use strict";
  var global = globalThis;
  var ObjectProto = Object.prototype;
  var create = Object.create, freeze = Object.freeze, defineProperty = Object.defineProperty;
  var getDescriptor = Object.getOwnPropertyDescriptor, getPrototypeOf = Object.getPrototypeOf;
  var isExtensible = Object.isExtensible, ownKeys = Reflect.ownKeys;
  var getNames = Object.getOwnPropertyNames, getSymbols = Object.getOwnPropertySymbols;
  var stringify = JSON.stringify, parse = JSON.parse, isArray = Array.isArray;
  var SetCtor = Set, TypeErrorCtor = TypeError, ErrorCtor = Error, StringCtor = String;
  var OVERRIDABLE = ["constructor", "toString", "valueOf", "toLocaleString", "name", "message", "toJSON"];

  function isObject(v) {
    return (typeof v === "object" && v !== null) || typeof v === "function";
  }

  /* --- isolation, once per context ------------------------------------------------------- */

  function overridable(target, key, desc) {
    var value = desc.value;
    defineProperty(target, key, {
      get: function () { return value; },
      set: function (v) {
        if (this === target) throw new TypeErrorCtor("cannot assign to read only property '" + key + "'");
        if (!isObject(this)) return;
        defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true });
      },
      enumerable: desc.enumerable,
      configurable: false
    });
  }

  function hiddenIntrinsics() {
    var found = [];
    function tryAdd(make) {
      try { found.push(getPrototypeOf(make())); } catch (e) { /* not supported here */ }
    }
    tryAdd(function () { return [][Symbol.iterator](); });
    tryAdd(function () { return new Map().entries(); });
    tryAdd(function () { return new Set().values(); });
    tryAdd(function () { return ""[Symbol.iterator](); });
    tryAdd(function () { return /a/[Symbol.matchAll](""); });
    tryAdd(function () { return (0, eval)("(function* () {})"); });
    tryAdd(function () { return (0, eval)("(function* () {})")(); });
    tryAdd(function () { return (0, eval)("(async function () {})"); });
    tryAdd(function () { return (0, eval)("(async function* () {})"); });
    tryAdd(function () { return (0, eval)("(async function* () {})")(); });
    tryAdd(function () { return Int8Array; });
    return found;
  }

  function harden() {
    var seen = new SetCtor(), queue = [];
    function add(v) {
      if (isObject(v) && v !== global && !seen.has(v)) { seen.add(v); queue.push(v); }
    }
    function addProperties(o) {
      var keys = ownKeys(o);
      for (var i = 0; i < keys.length; i++) {
        var d = getDescriptor(o, keys[i]);
        add(d.value); add(d.get); add(d.set);
      }
    }
    addProperties(global);
    add(getPrototypeOf(global));
    hiddenIntrinsics().forEach(add);
    while (queue.length) {
      var o = queue.pop();
      add(getPrototypeOf(o));
      addProperties(o);
    }
    seen.forEach(function (o) {
      for (var i = 0; i < OVERRIDABLE.length; i++) {
        var d = getDescriptor(o, OVERRIDABLE[i]);
        if (d && "value" in d && d.writable && d.configurable) overridable(o, OVERRIDABLE[i], d);
      }
    });
    seen.forEach(function (o) { freeze(o); });
    var keys = ownKeys(global);
    for (var i = 0; i < keys.length; i++) {
      var d = getDescriptor(global, keys[i]);
      if ("value" in d) defineProperty(global, keys[i], { writable: false, configurable: false });
      else defineProperty(global, keys[i], { configurable: false });
    }
  }

  harden();
  var baseKeys = new SetCtor(ownKeys(global));
  var baseCount = baseKeys.size;
  var baseProto = getPrototypeOf(global);

  /** Delete globals that tags created; false when that is impossible (context must go). */
  function cleanGlobals() {
    var keys = ownKeys(global), clean = true;
    if (keys.length !== baseCount) {
      for (var i = 0; i < keys.length; i++) {
        if (baseKeys.has(keys[i])) continue;
        try { delete global[keys[i]]; } catch (e) { clean = false; }
      }
    }
    return clean && getPrototypeOf(global) === baseProto && isExtensible(global);
  }

  /* --- grammars ---------------------------------------------------------------------------- */

  var definitions = [];          // grammar index -> {literal, factory}
  var position = [-1, "", -1];   // [grammar, rule, tag] of the code running now (-1: no tag)

  function setPosition(grammar, rule, tag) {
    position[0] = grammar; position[1] = rule; position[2] = tag;
  }

  function define(index, literal, factory) {
    definitions[index] = { literal: literal === true, factory: factory || null };
    return true;
  }

  /** Header tags run here, once per grammar per interpretation (SISR §3.3 global scope). */
  function instantiate(index) {
    var def = definitions[index];
    if (def === undefined) throw new ErrorCtor("grammar " + index + " is not defined");
    var table = create(null);
    if (def.factory !== null) {
      var pairs = def.factory(function (tag, error) {
        if (tag < 0) return thrown(error);
        setPosition(index, "", tag);
      });
      for (var i = 0; i < pairs.length; i++) table[pairs[i][0]] = pairs[i][1];
    }
    return { literal: def.literal, rules: table };
  }

  /** What a tag threw, as an Error: engine errors pass, other values are described. */
  function thrown(e) {
    if (e instanceof ErrorCtor) return e;
    var text;
    try { text = typeof e === "string" ? stringify(e) : StringCtor(e); } catch (x) { text = typeof e; }
    return new ErrorCtor("uncaught " + text);
  }

  /* --- one rule's variables (SISR §3.3: out, rules, meta) ---------------------------------- */

  function Frame(grammar, name, parent, score, scoped) {
    var frame = this;
    this.grammar = grammar;
    this.name = name;
    this.parent = parent;
    this.score = score;
    this.words = [];
    this.latest = undefined;
    this.latestMeta = undefined;
    this.hasChild = false;
    this.literal = undefined;
    this.hasLiteral = false;
    this.rules = null;
    this.meta = null;
    if (!scoped) return;  /* no script tag runs in this rule: nothing can see rules or meta */
    this.rules = {};
    this.meta = {};
    defineProperty(this.rules, "latest", {
      value: function () { return frame.latest; }, writable: true, configurable: true
    });
    defineProperty(this.meta, "latest", {
      value: function () { return frame.latestMeta; }, writable: true, configurable: true
    });
    defineProperty(this.meta, "current", {
      value: function () { return { text: frame.words.join(" "), score: frame.score }; },
      writable: true, configurable: true
    });
  }
  freeze(Frame.prototype);

  /** A child rule's value and text reach its parent frame (SISR §3.3 rules.NAME, meta.NAME). */
  function childDone(frame, name, value, text, score) {
    if (frame.rules !== null) {
      var meta = { text: text, score: score };
      defineProperty(frame.rules, name, { value: value, writable: true, enumerable: true, configurable: true });
      defineProperty(frame.meta, name, { value: meta, writable: true, enumerable: true, configurable: true });
      frame.latestMeta = meta;
    }
    frame.latest = value;
    frame.hasChild = true;
    if (text !== "") frame.words.push(text);
  }

  function Walker(events, score) {
    this.events = events;
    this.pos = 0;
    this.score = score;
    this.frame = null;
    this.grammars = [];
    this.text = "";
    this.value = undefined;
  }

  /** The next script tag of the current rule, -2 for a literal assignment (its value in
   *  this.value), or -1 at the rule's end; child rules are evaluated on the way. */
  Walker.prototype.next = function () {
    var events = this.events, frame = this.frame;
    setPosition(frame.grammar, frame.name, -1);
    for (;;) {
      var e = events[this.pos++];
      if (typeof e === "number") {
        if (e < 0) return -1;
        setPosition(frame.grammar, frame.name, e);
        return e;
      }
      if (typeof e === "string") { frame.words.push(e); continue; }
      if (!isArray(e)) throw new ErrorCtor("malformed parse tree events");
      if (e.length === 1) { frame.literal = e[0]; frame.hasLiteral = true; continue; }
      if (e[0] === -1) { this.value = e[1]; return -2; }
      if (e[0] === -3) { childDone(frame, e[1], e[2], e[3], this.score); continue; }
      var value = evaluateRule(this, e[0], e[1]);
      setPosition(frame.grammar, frame.name, -1);
      childDone(frame, e[1], value, this.text, this.score);
    }
  };
  Walker.prototype.fail = thrown;
  freeze(Walker.prototype);

  function untouched(out) {
    return getPrototypeOf(out) === ObjectProto && getNames(out).length === 0 &&
      getSymbols(out).length === 0;
  }

  /** A rule's value (SISR §3.3, default assignment when `out` is left untouched). */
  function evaluateRule(walker, grammar, name) {
    var table = walker.grammars[grammar];
    if (table === undefined) table = walker.grammars[grammar] = instantiate(grammar);
    var fn = table.rules[name];
    var frame = new Frame(grammar, name, walker.frame, walker.score, fn !== undefined);
    var initial = {}, out = initial;
    walker.frame = frame;
    if (fn !== undefined) out = fn(walker, initial, frame.rules, frame.meta);
    else for (var k; (k = walker.next()) !== -1;) { if (k === -2) out = walker.value; }
    walker.frame = frame.parent;
    var text = frame.words.join(" ");
    walker.text = text;
    if (table.literal) {
      if (frame.hasLiteral) return frame.literal;
    } else if (out !== initial || !untouched(initial)) {
      return out;
    }
    return frame.hasChild ? frame.latest : text;
  }

  /* --- the host's entry points ------------------------------------------------------------- */

  function bigintAsNumber(key, value) {
    return typeof value === "bigint" ? Number(value) : value;
  }

  /** Evaluate one encoded tree; returns the JSON text of [value, globals were cleaned]. */
  function run(eventsJson, score) {
    setPosition(-1, "", -1);
    var events = parse(eventsJson);
    var walker = new Walker(events, score);
    walker.pos = 1;
    var value = evaluateRule(walker, events[0][0], events[0][1]);
    setPosition(-1, "", -2);
    var text;
    try {
      text = stringify([value]);
    } catch (e) {
      if (!(e instanceof TypeErrorCtor)) throw e;
      text = stringify([value], bigintAsNumber);
    }
    var clean = cleanGlobals();
    return text.slice(0, -1) + (clean ? ",true]" : ",false]");
  }

  var api = create(null);
  api.define = define;
  api.run = run;
  api.position = function () { return stringify(position); };
  return function (name) { return api[name]; };
})()
