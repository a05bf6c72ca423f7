"""The command line: exit codes, output formats, and bad input that never shows a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from procflow.cli.main import main
from tests import special

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "valid"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_clean_folder_says_so_and_exits_0() -> None:
    code, out = run("validate", str(GOOD))
    n = len(list(GOOD.glob("*.yaml")))
    assert (code, out) == (0, f"{n} processes, 0 problems\n")


def test_one_process_is_singular_and_problems_are_counted() -> None:
    code, out = run("validate", str(GOOD / "next.yaml"))
    assert (code, out) == (0, "1 process, 0 problems\n")
    code, out = run("validate", str(FIXTURES / "invalid" / "unknown_target.yaml"))
    assert (code, out.splitlines()[-1]) == (1, "0 processes, 1 problem")
    code, out = run("validate", str(FIXTURES / "invalid" / "unused.yaml"))
    assert (code, out.splitlines()[-1]) == (0, "1 process, 0 problems, 2 warnings")


def test_problems_exit_1_with_located_lines() -> None:
    code, out = run("validate", str(FIXTURES / "invalid" / "unknown_target.yaml"))
    assert code == 1
    assert (
        out.strip()
        .splitlines()[-2]
        .endswith(
            "unknown_target.yaml:10:37: error PF301: "
            "the step 'draf' is not defined (did you mean 'draft'?)"
        )
    )


def test_usage_errors_exit_2() -> None:
    assert run("validate")[0] == 2
    assert run("validate", "/no/such/path")[0] == 2
    assert run("nonsense")[0] == 2


def test_json_format() -> None:
    code, out = run("validate", "--format", "json", str(FIXTURES / "invalid" / "unused.yaml"))
    data = json.loads(out)
    assert code == 0
    assert data["ok"] is True
    assert data["warnings"] == 2
    assert {d["code"] for d in data["diagnostics"]} == {"PF313", "PF314"}
    assert data["diagnostics"][0]["pointer"] == "/actors/cfo"


def test_strict_makes_warnings_fail() -> None:
    assert run("validate", "--strict", str(FIXTURES / "invalid" / "unused.yaml"))[0] == 1


def test_schema_command_prints_json_schema() -> None:
    code, out = run("schema")
    assert code == 0
    assert json.loads(out)["title"] == "Process"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_INPUTS = {
    "empty": (b"", "PF107"),
    "binary": (bytes(range(256)) * 4, "PF101"),
    "latin1": ("procflow: 1\nid: X\ntitle: café\n".encode("latin-1"), "PF101"),
    "tabs": (b"procflow: 1\nsteps:\n\t- actor: a\n", "PF109"),
    "unclosed_quote": (b'procflow: 1\ntitle: "open\n', "PF103"),
    "duplicate_keys": (b"procflow: 1\nid: A\nid: B\n", "PF104"),
    "deep_nesting": (b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "PF106"),
    "top_level_list": (b"- a\n- b\n", "PF204"),
    "misspelled": (b"procflow: 1\nid: A\ntitel: t\nsteps: [{actor: a}]\n", "PF201"),
    "norway": (
        b"procflow: 1\nid: A\ntitle: t\nactors: {a: x}\ndocuments:\n  f:\n    title: t\n"
        b"    fields: {c: {type: choice, of: [se, no]}}\nsteps: [{actor: a, fills: f}]\n",
        "PF108",
    ),
    "long_expression": (
        b'procflow: 1\nid: A\ntitle: t\nactors: {a: x}\nsteps:\n  - actor: a\n    when: "'
        + b"1 + " * 25_000
        + b'1 > 0"\n',
        "PF405",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_a_located_diagnostic(tmp_path: Path, name: str) -> None:
    data, code = BAD_INPUTS[name]
    path = _write(tmp_path, f"{name}.yaml", data)
    exit_code, out = run("validate", str(path))
    assert exit_code == 1
    assert f" {code}: " in out
    assert out.startswith(f"{path}:")
    assert "Traceback" not in out


def test_fifty_megabytes_are_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.write(b"a: " + b"x" * (50 * 1024 * 1024) + b"\n")
    code, out = run("validate", str(path))
    assert code == 1
    assert "PF102" in out


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    # benchmarks/bench_language.py reports how long this takes (target: under 1 s)
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = _write(tmp_path, "bomb.yaml", ("\n".join(lines) + "\n").encode())
    code, out = run("validate", str(path))
    assert code == 1
    assert "PF105" in out


def test_real_process_never_prints_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "garbage.yaml", b"\xff\xfe\x00garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "procflow.cli.main", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "PF101" in proc.stdout


# -- paths that are not plain readable files (built by tests.special) ----------------------

READ = " (let the user who runs procflow read it with chmod, or leave it out)"
"""The hint of a path that cannot be read."""
PATH_CASES = [
    # (builder, --strict?, exit code, a line of the output; {d} is the folder built)
    ("special_fifo", False, 1, "{d}/p.yaml: error PF101: cannot read the file: it is a FIFO"),
    ("special_socket", False, 1, "{d}/s.yaml: error PF101: cannot read the file: it is a socket"),
    ("special_device", False, 1, "/dev/null: error PF101: cannot read the file: it is a character"),
    (
        "special_unreadable_file",
        False,
        1,
        "{d}/u.yaml: error PF101: cannot read the file: Permission denied" + READ,
    ),
    (
        "special_unreadable_folder",
        False,
        1,
        "{d}/sub: error PF101: cannot read the folder: Permission denied" + READ,
    ),
    (
        "special_unreadable_in_folder",
        False,
        1,
        "{d}/u.yaml: error PF101: cannot read the file: Permission denied",
    ),
    (
        "special_unreadable_subfolder",
        False,
        0,
        "{d}/sub: warning PF112: skipped: the folder cannot be read (Permission denied)",
    ),
    (
        "special_unreadable_subfolder",
        True,
        1,
        "{d}/sub: warning PF112: skipped: the folder cannot be read (Permission denied)",
    ),
    ("special_symlink_loop", False, 0, "{d}/loop.yaml: warning PF112: skipped: a symbolic link"),
    ("special_symlink_loop", True, 1, "{d}/loop.yaml: warning PF112: skipped: a symbolic link"),
    (
        "special_dangling_link",
        False,
        0,
        "{d}/gone.yaml: warning PF112: skipped: a symbolic link to 'nowhere.yaml', "
        "which does not exist",
    ),
    ("special_fifo_in_folder", True, 1, "{d}/p.yaml: warning PF112: skipped: it is a FIFO"),
    ("special_folder_link", False, 0, "{d}/top/shared: warning PF112: skipped: a link to a folder"),
    ("special_only_loop", False, 1, "{d}: error PF113: no process file (*.yaml, *.yml) under"),
    ("special_empty_folder", False, 1, "{d}: error PF113: no process file (*.yaml, *.yml) under"),
    (
        "special_loop_named",
        False,
        1,
        "{d}/loop.yaml: error PF101: cannot read the file: a symbolic link that loops"
        " (point the link at a file that exists, or remove it)",
    ),
]


@pytest.mark.parametrize(
    ("name", "strict", "exit_code", "line"),
    PATH_CASES,
    ids=[f"{c[0]}{'-strict' if c[1] else ''}" for c in PATH_CASES],
)
def test_hostile_paths_get_a_located_answer(
    name: str, strict: bool, exit_code: int, line: str
) -> None:
    with special.open_folder() as folder:
        paths = special.BUILDERS[name](folder)
        code, out, err = special.run_cli("validate", *(["--strict"] if strict else []), *paths)
    assert (code, err) == (exit_code, "")
    assert any(ln.startswith(line.format(d=folder)) for ln in out.splitlines()), out
    assert ":0:0" not in out


def test_a_path_that_does_not_exist_is_still_a_usage_error(tmp_path: Path) -> None:
    code, out = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "'" + str(tmp_path / "nope.yaml") + "' does not exist" in out


IMPORTED_BY_VALIDATE = """
import sys
from procflow.cli.main import main
try:
    main(["validate", *sys.argv[1:]])
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    ("name", "unused"),
    [
        ("HR-01.yaml", ()),  # decision tables and a schedule
        ("CIN-01.yaml", ("procflow.decisions.table",)),  # a schedule, no tables
        ("CIN-04.yaml", ("procflow.decisions.table", "procflow.language.schedules")),
    ],
)
def test_validate_imports_only_what_it_uses(name: str, unused: tuple[str, ...]) -> None:
    """A clean process needs no graph library, renderer, engine or store, and the
    decision-table library and schedules only when it has them: importing them would
    be most of ``procflow validate FILE``'s start-up (see benchmarks/bench_language.py)."""
    path = Path(__file__).parent.parent / "processes" / name
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY_VALIDATE, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(done.stdout.split())
    assert "procflow.flow.checks" in modules
    heavy = ("networkx", "graphviz", "procflow.render", "procflow.runtime", "procflow.store")
    for module in (*heavy, "logging", *unused):  # logging: only `procflow worker` logs
        assert module not in modules, module


def test_validate_builds_the_process_model_once() -> None:
    """Files are validated with `procflow.Process`; its base in the language is built
    only when something uses it (pydantic builds a subclass's schema on its own)."""
    code = IMPORTED_BY_VALIDATE.replace(
        'print(" ".join(sorted(sys.modules)))',
        "from procflow.language import model\n"
        "import procflow\n"
        "print(model.Process.__pydantic_complete__, procflow.Process.__pydantic_complete__)\n"
        "print(len(model.Process.model_json_schema()['properties']))",
    )
    path = Path(__file__).parent.parent / "processes" / "HR-01.yaml"
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    built, properties = done.stdout.splitlines()[-2:]
    assert built == "False True"
    assert int(properties) > 10  # and the language's model still works when it is used


def test_import_procflow_loads_no_model() -> None:
    """The public names arrive on first use (PEP 562), and each one still works."""
    code = (
        "import sys, procflow\n"
        "before = set(sys.modules)\n"
        "assert procflow.loads.__module__ == 'procflow.flow.load'\n"
        "print(' '.join(sorted(before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(done.stdout.split())
    assert "procflow.errors" in modules
    for heavy in ("pydantic", "ruamel.yaml", "procflow.flow.load", "importlib.abc", "click"):
        assert heavy not in modules, heavy


@pytest.mark.parametrize("command", ["render", "check"])
def test_a_diagram_folder_that_cannot_be_made_is_one_line(command: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    into = blocker / "diagrams"
    option = (
        ["-o", str(into), "--format", "dot"] if command == "render" else ["--render-to", str(into)]
    )
    code, out = run(command, str(GOOD / "approval.yaml"), *option)
    assert code == 1
    assert f"procflow: cannot render: cannot write {into}" in out  # was an "internal error"
    assert "Not a directory" in out
    assert "internal error" not in out


def test_a_reader_that_stops_early_is_no_internal_error() -> None:
    # procflow validate processes/ | head -1: the pipe is closed before procflow writes
    proc = subprocess.Popen(
        [sys.executable, "-m", "procflow.cli.main", "validate", str(FIXTURES / "invalid")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "internal error" not in err and "Traceback" not in err, err


def test_a_file_that_cannot_be_written_is_one_line_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, out = run("schema", "--write", str(blocker / "schemas"))
    assert code == 1
    assert f"procflow: {blocker / 'schemas'}: Not a directory (check the path" in out
    assert "internal error" not in out  # was "internal error: NotADirectoryError"


def test_a_scenario_file_named_to_validate_is_not_read_as_a_process() -> None:
    scenario = GOOD / "scenarios" / "APPROVAL.routine.yaml"
    code, out = run("validate", str(scenario))
    assert code == 0, out  # was 1: "'steps' is missing", "unknown key 'acts'" and 8 more
    assert out.splitlines() == [
        f"{scenario}: warning PF112: skipped: a scenario file; 'procflow test' checks and runs it",
        "0 processes, 0 problems, 1 warning",
    ]
