#!/usr/bin/env python3
"""Self-test of check_layering.py: small trees with good and bad includes (run by `make test`)."""
import contextlib
import io
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_layering  # noqa: E402

TABLE = """# Architecture

<!-- layering:begin -->
| module | owns | may use |
|---|---|---|
| core | basics | — |
| ml | algorithms | core |
| store | the contract | core |
| store/sqlite | an adapter | core, store |
| store/open | `store::Open` | core, store, store/sqlite |
| pipeline | the write path | core, store, ml |
| server | the API | every module above |
| cli | the command line | every module above but server; server/app.h, server/config.h |
<!-- layering:end -->
"""


class CheckLayeringTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self._tmp.name)
        self.write("docs/architecture.md", TABLE)
        # A tree that follows the table.
        self.write("include/touchpoint/core/status.h", "#pragma once\n#include <string>\n")
        self.write("include/touchpoint/store/store.h", "#include <touchpoint/core/status.h>\n")
        self.write("include/touchpoint/store/sqlite.h", "#include <touchpoint/store/store.h>\n")
        self.write("include/touchpoint/store/open.h", "#include <touchpoint/store/store.h>\n")
        self.write("src/store/sqlite/sqlite_store.cc",
                   '#include <touchpoint/store/sqlite.h>\n#include "store/sqlite/chunk_internal.h"\n')
        self.write("src/store/sqlite/chunk_internal.h", "#include <touchpoint/core/status.h>\n")
        self.write("src/store/open.cc", "#include <touchpoint/store/open.h>\n#include <touchpoint/store/sqlite.h>\n")
        self.write("src/pipeline/engine.cc", "#include <touchpoint/store/store.h>\n// #include <touchpoint/server/app.h>\n")
        self.write("include/touchpoint/server/app.h", "#include <touchpoint/store/open.h>\n")
        self.write("include/touchpoint/server/config.h", "#pragma once\n")
        self.write("include/touchpoint/server/keys.h", "#pragma once\n")
        self.write("src/server/app.cc", '#include <touchpoint/server/app.h>\n#include "server/router_internal.h"\n')
        self.write("src/server/router_internal.h", "#include <touchpoint/pipeline/engine.h>\n")
        self.write("src/cli/main.cc", "#include <touchpoint/server/app.h>\n#include <touchpoint/version.h>\n")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def run_check(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = check_layering.main(["--root", str(self.root)])
        return code, out.getvalue()

    def test_a_tree_that_follows_the_table_passes(self):
        code, out = self.run_check()
        self.assertEqual(code, 0, out)

    def test_pipeline_including_a_backend_header_fails_naming_file_and_line(self):
        self.write("src/pipeline/data_dir.cc", "#include <touchpoint/store/store.h>\n#include <touchpoint/store/sqlite.h>\n")
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("src/pipeline/data_dir.cc:2: module 'pipeline' may not include <touchpoint/store/sqlite.h>", out)

    def test_cli_may_include_only_the_servers_app_and_config(self):
        self.write("src/cli/serve.cc", "#include <touchpoint/server/config.h>\n#include <touchpoint/server/keys.h>\n")
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("src/cli/serve.cc:2:", out)
        self.assertNotIn("src/cli/serve.cc:1:", out)
        self.assertNotIn("src/cli/main.cc", out)

    def test_a_module_not_listed_in_the_row_fails(self):
        self.write("src/ml/kmeans.cc", "#include <touchpoint/store/store.h>\n")
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("src/ml/kmeans.cc:1: module 'ml' may not include <touchpoint/store/store.h>", out)

    def test_a_public_header_is_checked_as_its_module(self):
        # include/touchpoint/store/sqlite.h is store/sqlite, which may not use store/open.
        self.write("include/touchpoint/store/sqlite.h", "#include <touchpoint/store/open.h>\n")
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("include/touchpoint/store/sqlite.h:1: module 'store/sqlite'", out)

    def test_another_modules_private_header_fails_even_for_server(self):
        self.write("src/pipeline/engine.cc", '#include "store/sqlite/chunk_internal.h"\n')
        self.write("src/server/metrics.cc", '  #  include "store/sqlite/chunk_internal.h"\n')
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("src/pipeline/engine.cc:1: module 'pipeline' includes \"store/sqlite/chunk_internal.h\"", out)
        self.assertIn("src/server/metrics.cc:1:", out)

    def test_a_file_outside_every_module_fails(self):
        self.write("src/reports/report.cc", "#include <touchpoint/core/status.h>\n")
        code, out = self.run_check()
        self.assertEqual(code, 1, out)
        self.assertIn("src/reports/report.cc:1: belongs to no module", out)

    def test_a_row_naming_a_module_below_it_is_a_table_error(self):
        self.write("docs/architecture.md", TABLE.replace("| ml | algorithms | core |", "| ml | algorithms | core, store |"))
        code, out = self.run_check()
        self.assertEqual(code, 2, out)
        self.assertIn("'store' is not a module above it", out)

    def test_the_repositorys_table_parses(self):
        repo = pathlib.Path(__file__).resolve().parent.parent
        order, allowed = check_layering.parse_table((repo / "docs" / "architecture.md").read_text(encoding="utf-8"))
        for module in (p.name for p in (repo / "src").iterdir() if p.is_dir()):
            self.assertIn(module, order)
        self.assertNotIn("store/sqlite", allowed["pipeline"])
        self.assertNotIn("server", allowed["cli"])
        self.assertIn("server/app.h", allowed["cli"])
        self.assertIn("cli", order)
        self.assertEqual(allowed["core"], set())


if __name__ == "__main__":
    unittest.main()
