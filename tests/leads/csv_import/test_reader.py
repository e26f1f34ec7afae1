"""The CSV reader: physical lines, sniffed delimiters, bytes that are not UTF-8. Pure Python, no database."""

import pytest

from leads.csv_import.reader import CellProblem, column_key, csv_table_read


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"domain,name\nacme.com,Acme\n", ","),
        (b"domain;name\nacme.com;Acme, Inc.\n", ";"),
        (b"domain\tname\nacme.com\tAcme; Inc.\n", "\t"),
        (b'"Company, legal name";domain\nAcme, Inc.;acme.com\n', ";"),
        (b"email\njane@acme.com\n", ","),
    ],
)
def test_it_sniffs_the_delimiter_from_the_header(data, delimiter):
    # when
    table = csv_table_read(data)

    # then
    assert table.delimiter == delimiter
    assert len(table.rows[0].cells) == len(table.header)


def test_a_byte_order_mark_is_dropped_from_the_first_column_name():
    # when
    table = csv_table_read(b"\xef\xbb\xbfdomain,name\nacme.com,Acme\n")

    # then
    assert table.header == ["domain", "name"]


def test_rows_carry_the_physical_line_they_start_on():
    # given: a quoted cell spanning lines 2-4 (with CRLF inside), then a blank line 5
    data = b'domain,name\r\nacme.com,"Acme\r\nCorp\nInc"\r\n\r\nglobex.com,Globex\r\n'

    # when
    table = csv_table_read(data)

    # then
    assert [(row.line, row.cells[0]) for row in table.rows] == [(2, "acme.com"), (6, "globex.com")]


def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_column():
    # given: 0xE9 on line 3, inside a cell that starts on line 2
    data = b'domain,name,industry\nacme.com,"Acme\nCaf\xe9",Food\xff\n'

    # when
    row = csv_table_read(data).rows[0]

    # then
    assert row.problems == (
        CellProblem(3, "name", "byte 0xE9 is not UTF-8: save the file as CSV UTF-8"),
        CellProblem(3, "industry", "byte 0xFF is not UTF-8: save the file as CSV UTF-8"),
    )


def test_a_row_with_more_cells_than_the_header_has_a_problem():
    # when
    row = csv_table_read(b"domain\nacme.com,extra\n").rows[0]

    # then
    assert row.problems == (CellProblem(2, "", "2 cells but the header has 1"),)


def test_an_empty_file_has_no_header_and_no_rows():
    # when
    table = csv_table_read(b"")

    # then
    assert (table.header, table.rows, table.problems) == ([], [], [])


@pytest.mark.parametrize("name", ["First Name", " first-name ", "FIRST_NAME"])
def test_column_names_are_compared_by_key(name):
    assert column_key(name) == "first_name"
