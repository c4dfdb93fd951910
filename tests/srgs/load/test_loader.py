"""Loading: form sniffing, references resolved under bounds, left recursion across grammars."""

from __future__ import annotations

import pytest

from srgs.errors import GrammarErrors, SrgsError
from srgs.load.loader import bundle_from_text, load_bundle, sniff_form
from srgs.load.policy import AccessPolicy
from srgs.load.sources import FetchOptions

HEAD = "#ABNF 1.0;\nlanguage en;\n"


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_sniff_form_from_content_bom_and_extension():
    assert sniff_form(b"  <?xml version='1.0'?><grammar/>", "x") == "xml"
    assert sniff_form("\ufeff#ABNF 1.0;".encode("utf-8"), "x") == "abnf"
    assert sniff_form("#ABNF 1.0;".encode("utf-16"), "x") == "abnf"
    assert sniff_form("<grammar/>".encode("utf-16-be"), "x") == "xml"
    assert sniff_form(b"", "empty.gram") == "abnf"
    with pytest.raises(SrgsError, match="not an SRGS grammar"):
        sniff_form(b"hello", "notes.txt")


def test_left_recursion_is_reported_with_the_cycle():
    with pytest.raises(GrammarErrors) as info:
        bundle_from_text(HEAD + "root $a;\npublic $a = $b x;\n$b = [y] $a;\n", source="g.gram")
    (line,) = info.value.diagnostics()
    assert line.startswith("g.gram:4:13: error: left recursion: $a -> $b (at g.gram:4:13) -> $a (at g.gram:5:10)")


def test_right_and_centre_recursion_are_legal():
    assert bundle_from_text(HEAD + "root $m;\npublic $m = t $m | t;\n", source="r.gram").active == ("m",)
    assert bundle_from_text(HEAD + "root $m;\npublic $m = open $m close | x;\n", source="c.gram").active == ("m",)


def test_left_recursion_across_grammars(tmp_path):
    write(tmp_path, "a.gram", "root $a;\npublic $a = $<b.gram#b> x;\n")
    write(tmp_path, "b.gram", "root $b;\npublic $b = $<a.gram#a> y | z;\n")
    with pytest.raises(GrammarErrors, match="left recursion"):
        load_bundle(str(tmp_path / "a.gram"))


def test_a_reference_cycle_between_grammars_is_read_once(tmp_path):
    write(tmp_path, "c.gram", "root $c;\npublic $c = z $<d.gram#d> | z;\n")
    write(tmp_path, "d.gram", "root $d;\npublic $d = y $<c.gram#c>;\n")
    bundle = load_bundle(str(tmp_path / "c.gram"))
    assert len(bundle.grammars) == 2
    assert set(bundle.source_hashes) == set(bundle.grammars)


def test_references_outside_the_allowed_roots_are_refused(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    write(tmp_path, "secret.gram", "root $s;\npublic $s = secret;\n")
    main = write(inner, "main.gram", "root $m;\npublic $m = $<../secret.gram>;\n")
    with pytest.raises(GrammarErrors, match="outside the allowed grammar directories"):
        load_bundle(str(main))
    assert load_bundle(str(main), options=FetchOptions(policy=AccessPolicy.local(roots=(str(tmp_path),)))).grammars


def test_http_references_are_off_unless_enabled():
    with pytest.raises(GrammarErrors, match="http\\(s\\) references are disabled"):
        bundle_from_text(HEAD + "root $m;\npublic $m = $<http://127.0.0.1:9/x.gram>;\n", source="m.gram")


def test_http_fetch_is_bounded_in_time_and_size():
    import http.server
    import threading

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()
            if self.path.endswith("big.gram"):
                self.wfile.write(b"#ABNF 1.0;\n" + b"/" * 4096)
            else:
                threading.Event().wait(3)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        from srgs.limits import Limits

        options = FetchOptions(policy=AccessPolicy.local(http=True), limits=Limits(fetch_timeout_s=0.5, max_fetch_bytes=1024))
        with pytest.raises(GrammarErrors, match="cannot fetch"):
            bundle_from_text(HEAD + f"root $m;\npublic $m = $<http://127.0.0.1:{port}/slow.gram>;\n", source="m.gram",
                             options=options)
        too_big = r"big.gram is over the http\(s\) grammar limit of 1024 bytes \(Limits.max_fetch_bytes\)"
        with pytest.raises(GrammarErrors, match=too_big):
            bundle_from_text(HEAD + f"root $m;\npublic $m = $<http://127.0.0.1:{port}/big.gram>;\n", source="m.gram",
                             options=options)
    finally:
        server.shutdown()


def test_builtin_grammars_and_unknown_builtins():
    assert load_bundle("builtin:examples/pizza").main_grammar.root == "order"
    with pytest.raises(GrammarErrors, match="no builtin grammar 'builtin:nothing': built-in grammars are builtin:examples/NAME"):
        bundle_from_text(HEAD + "root $m;\npublic $m = $<builtin:nothing>;\n", source="m.gram")


def test_fragment_activates_a_rule_and_an_unknown_one_is_refused():
    assert load_bundle("builtin:examples/pizza#topping").active == ("topping",)
    with pytest.raises(GrammarErrors, match="no rule 'nope' to activate"):
        load_bundle("builtin:examples/pizza#nope")


def test_abnf_given_as_text_is_read_as_text_whatever_charset_its_header_names():
    from srgs.load.loader import parse_grammar

    grammar = parse_grammar("#ABNF 1.0 UTF-16;\nlanguage ko;\n$x = 예;\n", "t.gram")
    assert grammar.rules[0].expansion.text == "예"
