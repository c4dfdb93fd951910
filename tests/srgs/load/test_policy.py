"""The access policy: grammars given as text reach no file or network unless the policy says so;
``session:`` grammars live in the caller's namespace only."""

from __future__ import annotations

import pytest

from srgs.errors import GrammarErrors
from srgs.load.loader import bundle_from_text, load_bundle
from srgs.load.policy import AccessPolicy, GrammarNamespace
from srgs.load.sources import FetchOptions

HEADER = "#ABNF 1.0 UTF-8;\nlanguage en-US;\nmode voice;\nroot $main;\n"
PIZZA = HEADER.replace("$main", "$size") + "public $size = small | large;\n"


def referring(uri: str) -> str:
    return HEADER + f"public $main = order $<{uri}>;\n"


def problems(exc: pytest.ExceptionInfo) -> str:
    return "\n".join(str(e) for e in exc.value.errors)


@pytest.fixture()
def secret(tmp_path):
    path = tmp_path / "secret.gram"
    path.write_text(PIZZA, encoding="utf-8")
    return path


def test_text_grammars_read_no_file_by_default(secret):
    with pytest.raises(GrammarErrors) as found:
        bundle_from_text(referring(secret.as_uri()))
    assert "may not read local files" in problems(found)


def test_text_grammars_read_no_file_under_the_current_directory(secret, monkeypatch):
    monkeypatch.chdir(secret.parent)
    with pytest.raises(GrammarErrors) as found:
        bundle_from_text(referring(secret.as_uri()), options=FetchOptions(policy=AccessPolicy.closed()))
    assert "may not read local files" in problems(found)


def test_a_refusal_does_not_tell_whether_the_file_exists(secret):
    closed = FetchOptions(policy=AccessPolicy.closed())
    with pytest.raises(GrammarErrors) as there:
        bundle_from_text(referring(secret.as_uri()), options=closed)
    missing = secret.with_name("missing.gram")
    with pytest.raises(GrammarErrors) as absent:
        bundle_from_text(referring(missing.as_uri()), options=closed)
    assert problems(there).replace("secret", "X") == problems(absent).replace("missing", "X")
    assert "not found" not in problems(absent)


def test_etc_passwd_is_out_of_reach_of_a_text_grammar():
    with pytest.raises(GrammarErrors) as found:
        bundle_from_text(HEADER + "public $main = $<file:///etc/passwd>;\n",
                         options=FetchOptions(policy=AccessPolicy.closed()))
    assert "may not read local files" in problems(found)


def test_a_closed_policy_refuses_files_named_by_the_caller(secret):
    with pytest.raises(GrammarErrors) as found:
        load_bundle(str(secret), options=FetchOptions(policy=AccessPolicy.closed()))
    assert "may not read local files" in problems(found)
    assert load_bundle("builtin:examples/yesno", options=FetchOptions(policy=AccessPolicy.closed())).grammars


def test_a_closed_policy_with_a_granted_root_reads_there(secret):
    options = FetchOptions(policy=AccessPolicy.closed(roots=(str(secret.parent),)))
    bundle = bundle_from_text(referring(secret.as_uri()), options=options)
    assert secret.as_uri() in bundle.grammars


def test_the_local_policy_reads_the_grammars_own_directory(tmp_path, secret):
    main = tmp_path / "main.gram"
    main.write_text(referring("secret.gram"), encoding="utf-8")
    assert len(load_bundle(str(main)).grammars) == 2
    outside = tmp_path / "sub"
    outside.mkdir()
    nested = outside / "main.gram"
    nested.write_text(referring("../secret.gram"), encoding="utf-8")
    with pytest.raises(GrammarErrors, match="--allow-root"):
        load_bundle(str(nested))
    granted = FetchOptions(policy=AccessPolicy.local(roots=(str(tmp_path),)))
    assert len(load_bundle(str(nested), options=granted).grammars) == 2


def test_http_needs_the_policy():
    with pytest.raises(GrammarErrors, match="--allow-http"):
        bundle_from_text(referring("http://127.0.0.1:9/g.gram"))


def test_builtin_can_be_refused():
    with pytest.raises(GrammarErrors, match="AccessPolicy.builtin"):
        load_bundle("builtin:examples/yesno", options=FetchOptions(policy=AccessPolicy(builtin=False)))


def test_session_grammars_live_in_their_namespace():
    mine, theirs = GrammarNamespace(), GrammarNamespace()
    assert mine.define("size", PIZZA) == "session:size"
    bundle = bundle_from_text(referring("session:size"), options=FetchOptions(sessions=mine))
    assert "session:size" in bundle.grammars
    with pytest.raises(GrammarErrors, match="no grammar session:size is defined in this session"):
        bundle_from_text(referring("session:size"), options=FetchOptions(sessions=theirs))
    assert load_bundle("session:size", options=FetchOptions(sessions=mine)).main == "session:size"
    assert mine.release("size") and not mine.release("size")
    with pytest.raises(GrammarErrors, match="no grammar session:size"):
        load_bundle("session:size", options=FetchOptions(sessions=mine))


def test_session_grammars_refer_to_one_another_by_name():
    space = GrammarNamespace()
    space.define("size", PIZZA)
    space.define("order", referring("size"))
    bundle = load_bundle("session:order", options=FetchOptions(sessions=space))
    assert set(bundle.grammars) == {"session:order", "session:size"}


def test_session_grammars_can_be_refused():
    space = GrammarNamespace()
    space.define("size", PIZZA)
    with pytest.raises(GrammarErrors, match="AccessPolicy.session"):
        load_bundle("session:size", options=FetchOptions(policy=AccessPolicy(session=False), sessions=space))


@pytest.mark.parametrize("name", ["", "session:", "a#b", " x"])
def test_bad_session_names(name):
    with pytest.raises(ValueError):
        GrammarNamespace().define(name, PIZZA)
