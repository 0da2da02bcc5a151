"""README.md stays true: the parameter table is the one the runner validates against."""
from pathlib import Path

from msc_sle.workbook.params import PARAMETERS, parameter_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_parameter_table_is_the_declared_one():
    assert parameter_markdown() in README, "regenerate the README table from msc_sle.workbook.params.parameter_markdown()"


def test_every_parameter_is_named_in_the_readme():
    for p in PARAMETERS.values():
        assert f"`{p.make_name}`" in README and f"`{p.name}`" in README


def test_readme_says_the_bundled_data_are_synthetic_and_gives_the_two_commands():
    assert "SYNTHETIC" in README
    assert "make run" in README and "make test" in README
