"""The README's promises: two quick-start commands, .ci/run running the test command, and a
configuration reference that matches the code."""

from pathlib import Path

from gateway.configdoc import BEGIN, END, update_readme

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_is_exactly_two_commands_and_ci_runs_the_second():
    block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0] == "bash scripts/demo.sh"
    assert (ROOT / "scripts" / "demo.sh").read_text().rstrip().endswith('twinbridge serve "$@"')
    assert commands[1] == "bash scripts/test.sh"
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_configuration_reference_is_generated_from_the_models():
    assert BEGIN in README and END in README
    assert update_readme(README) == README, "run: twinbridge config reference --readme README.md"
