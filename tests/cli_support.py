"""Helpers shared by the command-line tests."""

from emkit.cli.main import main


def run_cli(capsys, *argv):
    """Run the command line in-process; returns (exit status, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out, title):
    """Header and rows of the aligned table printed below the line ``title``."""
    lines = out.splitlines()
    start = lines.index(title) + 1
    header = lines[start].split()
    rows = []
    for line in lines[start + 1 :]:
        fields = line.split()
        if len(fields) != len(header) or not fields[0].isdigit():
            break
        rows.append(fields)
    return header, rows
