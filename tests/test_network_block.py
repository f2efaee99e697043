"""Nothing downloads: sockets to the outside are refused, in this process and in kernels."""
import socket
import urllib.request

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.grading.runner import execute


def test_this_process_cannot_reach_the_network():
    with pytest.raises(OSError, match="network access is disabled"):
        urllib.request.urlopen("http://example.com", timeout=2)
    with pytest.raises(OSError, match="network access is disabled"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)


def test_loopback_still_works():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()


def test_kernels_cannot_reach_the_network(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "import urllib.request\n"
        "try:\n"
        "    urllib.request.urlopen('http://example.com', timeout=2)\n"
        "    print('REACHED')\n"
        "except OSError as exc:\n"
        "    print('BLOCKED', exc)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    died, startup = execute(nb, tmp_path, cell_timeout=60)
    assert died is None and startup is None
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "BLOCKED" in text and "network access is disabled" in text, text
