"""Shell completion: Typer's --show-completion script, and what RUN and DATA complete to."""

from __future__ import annotations

import pytest

from mlpcli import runs


def _complete(cli, monkeypatch, line: str) -> list[str]:
    """The candidates bash's completion script would get for the last word of `line`."""
    words = line.split(" ")
    monkeypatch.setenv("_MLPCLI_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    monkeypatch.setenv("_TYPER_COMPLETE_ARGS", line)
    result = cli()
    monkeypatch.delenv("_MLPCLI_COMPLETE")
    assert result.code == 0, result.err
    return result.out.split()


def test_run_arguments_complete_ids_names_and_sweeps(cli, monkeypatch, tmp_path):
    assert cli("train", "xor", "--epochs", "2", "--quiet", "--name", "alpha").code == 0
    assert cli("train", "xor", "--epochs", "2", "--quiet", "--name", "beta").code == 0
    assert cli("sweep", "xor", "--grid", "hidden=2|3", "--epochs", "2", "--workers", "1",
               "--quiet").code == 0
    alpha = runs.resolve_run("alpha").name
    sweep = runs.sweep_dirs("runs")[0].name
    found = _complete(cli, monkeypatch, "mlpcli predict ")
    assert found[0] == "latest"
    assert {alpha, "alpha", "beta", sweep, f"{sweep}:best"} <= set(found)
    assert _complete(cli, monkeypatch, "mlpcli runs show al") == ["alpha"]
    assert _complete(cli, monkeypatch, "mlpcli export 2026") == [
        c for c in found if c.startswith("2026")]
    assert _complete(cli, monkeypatch, f"mlpcli runs show {sweep}/") == [
        f"{sweep}/c0-s0", f"{sweep}/c1-s0"]
    assert _complete(cli, monkeypatch, "mlpcli runs show nothing") == []


def test_data_arguments_complete_bundled_names_and_files(cli, monkeypatch, tmp_path):
    (tmp_path / "irises.csv").write_text("a,b\n1,2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    assert _complete(cli, monkeypatch, "mlpcli train iri") == ["iris", "irises.csv"]
    assert _complete(cli, monkeypatch, "mlpcli train su") == ["sub/"]
    assert _complete(cli, monkeypatch, "mlpcli evaluate latest sub/") == ["sub/data.csv"]


@pytest.mark.parametrize("shell, marker", [("bash", "COMPREPLY"), ("zsh", "#compdef mlpcli"),
                                           ("fish", "complete --command mlpcli")])
def test_show_completion_prints_the_script(cli, monkeypatch, shell, marker):
    import typer.completion

    # the shell is found from the process's parents (shellingham): the test's own, whatever
    # runs the tests (a detached job may have no shell among them)
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: shell)
    result = cli("--show-completion")
    assert result.code == 0, result.err
    assert "_MLPCLI_COMPLETE" in result.out and marker in result.out
    assert "--install-completion" in cli("--help").out
