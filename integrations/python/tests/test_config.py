"""The project configuration resolver (tracesnap._config): discovery, precedence, errors.

These run without the native recorder; the recordings that use a configuration are in
test_config_recording.py and Tests/host/test_config_cli.py.
"""

import os
import textwrap

import pytest

import tsutil
from tracesnap import _config


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def resolve(start, cli=None, **env):
    return _config.resolve(str(start), cli, environ=env)


def error_of(start, cli=None, **env):
    with pytest.raises(_config.ConfigError) as info:
        resolve(start, cli, **env)
    message = str(info.value)
    assert "\n" not in message
    return info.value


# -- discovery -----------------------------------------------------------------------------------

def test_config_is_found_by_walking_up(tmp_path):
    config = write(tmp_path / "proj" / ".tracesnap.toml", 'project = "shop"\n')
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    result = resolve(deep)
    assert result.project == "shop"
    assert result.project_origin == str(config)
    assert result.config_file == str(config)
    assert result.root == str(tmp_path / "proj")


def test_without_config_the_folder_name_is_the_project(tmp_path):
    start = tmp_path / "plainfolder"
    start.mkdir()
    result = resolve(start)
    assert (result.project, result.project_origin) == ("plainfolder", "folder")
    assert result.plugins == [] and result.redact == [] and result.sink == "library"


def test_pyproject_tool_table_is_the_fallback(tmp_path):
    pyproject = write(tmp_path / "pyproject.toml", """\
        [project]
        name = "something-else"

        [tool.tracesnap]
        project = "from-pyproject"
        plugins = ["json"]
        """)
    (tmp_path / "src").mkdir()
    result = resolve(tmp_path / "src")
    assert result.project == "from-pyproject"
    assert result.plugins == ["json"]
    assert result.pyproject_file == str(pyproject)


def test_pyproject_without_tool_table_is_ignored(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.other]\ntracesnap = 1\n')
    start = tmp_path / "pkg"
    start.mkdir()
    result = resolve(start)
    assert result.project == "pkg" and result.pyproject_file is None


# -- precedence ----------------------------------------------------------------------------------

def test_precedence_cli_env_config_pyproject_default(tmp_path):
    write(tmp_path / "pyproject.toml", """\
        [tool.tracesnap]
        project = "py"
        redact = ["from_py"]
        sink = "json"
        output_dir = "py-out"
        """)
    write(tmp_path / "app" / ".tracesnap.toml", """\
        project = "toml"
        redact = ["from_toml"]
        """)
    start = tmp_path / "app"
    cli = {"project": "cli", "redact": ["from_cli"]}
    env = {"TRACESNAP_PROJECT": "env", "TRACESNAP_REDACT": "from_env, second"}
    result = resolve(start, cli, **env)
    assert result.project == "cli"
    # redaction names add up: no source can drop a name another one redacts
    assert result.redact == ["from_py", "from_toml", "from_env", "second", "from_cli"]
    result = resolve(start, None, **env)
    assert (result.project, result.project_origin) == ("env", "environment")
    result = resolve(start)
    assert (result.project, result.redact) == ("toml", ["from_py", "from_toml"])
    # keys the nearer file does not set still come from pyproject.toml
    assert result.sink == "json"
    assert result.output_dir == str(tmp_path / "py-out")
    os.unlink(start / ".tracesnap.toml")
    result = resolve(start)
    assert (result.project, result.redact) == ("py", ["from_py"])
    os.unlink(tmp_path / "pyproject.toml")
    result = resolve(start)
    assert (result.project, result.redact, result.sink) == ("app", [], "library")


def test_plugins_add_up_and_minus_removes(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.tracesnap]\nplugins = ["p"]\n')
    write(tmp_path / ".tracesnap.toml", 'plugins = ["a", "b"]\nsink = "library"\n')
    result = resolve(tmp_path, None, TRACESNAP_PLUGINS="c,d", TRACESNAP_SINK="json")
    assert result.plugins == ["p", "a", "b", "c", "d"] and result.sink == "json"
    result = resolve(tmp_path, {"plugins": ["-a", "e", "-requests"]}, TRACESNAP_PLUGINS="c")
    assert result.plugins == ["p", "b", "c", "-a", "e", "-requests"]


def test_option_tables_are_taken_per_plugin(tmp_path):
    write(tmp_path / "pyproject.toml", """\
        [tool.tracesnap.options.a]
        x = 1
        [tool.tracesnap.options.b]
        y = 2
        """)
    write(tmp_path / "sub" / ".tracesnap.toml", '[options.a]\nz = 3\n')
    result = resolve(tmp_path / "sub")
    assert result.options == {"a": {"z": 3}, "b": {"y": 2}}


def test_paths_are_relative_to_the_file_that_names_them(tmp_path):
    write(tmp_path / ".tracesnap.toml", """\
        plugins = ["plugins/libmine.so", "byname"]
        plugin_path = ["more"]
        output_dir = "traces"

        [options.mine]
        path = "out/mine.csv"
        other = "not/a/path/key"
        """)
    elsewhere = tmp_path / "x" / "y"
    elsewhere.mkdir(parents=True)
    result = resolve(elsewhere, None, TRACESNAP_PLUGIN_PATH="/env/dir")
    assert result.plugins == [str(tmp_path / "plugins" / "libmine.so"), "byname"]
    assert result.plugin_dirs == ["/env/dir", str(tmp_path / "more")]
    assert result.output_dir == str(tmp_path / "traces")
    options = result.options_for(str(tmp_path / "plugins" / "libmine.so"))
    assert options == {"path": str(tmp_path / "out" / "mine.csv"), "other": "not/a/path/key"}


def test_source_include_and_exclude(tmp_path):
    write(tmp_path / ".tracesnap.toml", """\
        [source]
        include = ["lib/**/*.py"]
        exclude = ["lib/skip_*.py"]
        """)
    for name in ("lib/a.py", "lib/deep/b.py", "lib/skip_me.py", "lib/notes.txt"):
        write(tmp_path / name, "x = 1\n")
    result = resolve(tmp_path)
    included = result.included_files()
    assert str(tmp_path / "lib" / "a.py") in included
    assert str(tmp_path / "lib" / "deep" / "b.py") in included
    assert not any(p.endswith(".txt") for p in included)
    assert result.excludes(str(tmp_path / "lib" / "skip_me.py"))
    assert not result.excludes(str(tmp_path / "lib" / "a.py"))


# -- errors: one line, with the file and the right line ---------------------------------------------

def test_unknown_key_names_file_and_line(tmp_path):
    config = write(tmp_path / ".tracesnap.toml", """\
        # a comment with project = "not this"
        project = "ok"
        plugins = [
            "a",   # a comment ]
            "b",
        ]
        description = '''
        redcat = "inside a string, not a key"
        '''
        redcat = ["typo"]
        """)
    error = error_of(tmp_path)
    assert str(error).startswith(f"{config}:7: unknown key 'description'")
    config.write_text(config.read_text().replace("description", "# description").replace(
        "redcat = \"inside", "# redcat = \"inside").replace("'''", "#"))
    error = error_of(tmp_path)
    assert (error.path, error.line) == (str(config), 10)
    assert "unknown key 'redcat'" in str(error) and "redact" in str(error)


def test_unknown_key_in_pyproject_and_in_source(tmp_path):
    pyproject = write(tmp_path / "pyproject.toml", """\
        [project]
        name = "x"

        [tool.tracesnap]
        project = "p"

        [tool.tracesnap.source]
        include = ["*.py"]
        excluded = ["tests/*"]
        """)
    error = error_of(tmp_path)
    assert (error.path, error.line) == (str(pyproject), 9)
    assert "source.excluded" in error.message
    pyproject.write_text('[tool.tracesnap]\nproject = "p"\n"output-dir" = "x"\n')
    error = error_of(tmp_path)
    assert (error.line, error.message.split(" (")[0]) == (3, "unknown key 'output-dir'")


@pytest.mark.parametrize("text, line, fragment", [
    ('project = 3\n', 1, "project must be a non-empty string, not a number (3)"),
    ('# c\nproject = "  "\n', 2, "project must be a non-empty string, not an empty string"),
    ('project = "a"\nplugins = "json"\n', 2, "plugins must be a list of plugin names or paths, not a string"),
    ('plugins = [\n  "a",\n  2,\n]\n', 1, "plugins[1] must be a non-empty string, not a number (2)"),
    ('redact = [true]\n', 1, "redact[0] must be a non-empty string, not a boolean"),
    ('sink = ""\n', 1, "sink must be a sink plugin name"),
    ('\n\noptions = 1\n', 3, "options must be a table of per-plugin tables"),
    ('[options]\ncsv = "x"\n', 2, "options.csv must be a table"),
    ('[source]\ninclude = "*.py"\n', 2, "source.include must be a list of glob patterns"),
    ('source = ["x"]\n', 1, "source must be a table"),
    ('output_dir = []\n', 1, "output_dir must be a directory"),
])
def test_bad_values_name_file_and_line(tmp_path, text, line, fragment):
    config = tmp_path / ".tracesnap.toml"
    config.write_text(text)
    error = error_of(tmp_path)
    assert str(error).startswith(f"{config}:{line}: ")
    assert fragment in str(error)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    config = write(tmp_path / ".tracesnap.toml", 'project = "a"\n\nplugins = ["x" "y"]\n')
    error = error_of(tmp_path)
    assert (error.path, error.line) == (str(config), 3)
    assert "invalid TOML" in error.message


def test_empty_environment_value_is_an_error(tmp_path):
    error = error_of(tmp_path, None, TRACESNAP_PROJECT=" ")
    assert str(error) == "TRACESNAP_PROJECT is set but empty"


def test_main_prints_json_or_one_error_line(tmp_path, capsys):
    write(tmp_path / ".tracesnap.toml", 'project = "j"\n')
    _config.main(["--start", str(tmp_path)])
    import json
    assert json.loads(capsys.readouterr().out)["project"] == "j"
    (tmp_path / ".tracesnap.toml").write_text('projekt = "j"\n')
    with pytest.raises(SystemExit) as info:
        _config.main(["--start", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"tracesnap: error: {tmp_path}/.tracesnap.toml:1: unknown key")


def test_runner_refuses_a_bad_config_before_running_the_script(tmp_path):
    write(tmp_path / ".tracesnap.toml", 'project = "x"\nplugins = 5\n')
    script = write(tmp_path / "s.py", 'print("ran")\n')
    result = tsutil.run_launched(script, cwd=tmp_path, project=None, plugins=None)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"tracesnap: error: {tmp_path}/.tracesnap.toml:2: plugins must be a list of plugin names or paths, "
        "not a number (5)"]
