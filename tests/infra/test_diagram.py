"""The README's workflow picture is the synthesized state machine, not a drawing that can drift."""

from local.diagram import END, README, START, mermaid, readme_with
from local.template import Template


def test_the_readme_diagram_is_current(template: Template) -> None:
    expected = mermaid(template.definition("us-east-1", "123456789012"))
    readme = README.read_text()
    assert readme_with(expected, readme) == readme, "the workflow changed: run `make diagram` and commit README.md"


def test_the_diagram_shows_every_state_and_the_failure_edges(template: Template) -> None:
    definition = template.definition("us-east-1", "123456789012")
    diagram = mermaid(definition)
    iteration = definition["States"]["RotateEachTarget"]["ItemProcessor"]["States"]
    for name in [*definition["States"], *iteration]:
        assert f'"{name}"' in diagram or f'"{name}: each target"' in diagram, name
    assert '-. "States.ALL" .-> ReleaseLockAfterFailure' in diagram
    assert START in README.read_text() and END in README.read_text()
