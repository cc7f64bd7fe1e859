"""Every relative link of the project's Markdown documents names a file or folder that exists, and
every #anchor a heading of the page it points to."""

import os
import re
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOCUMENTS = ["README.md", "CONTRIBUTING.md", "tests/bench/README.md"] + [
    os.path.join("docs", name) for name in sorted(os.listdir(os.path.join(ROOT, "docs"))) if name.endswith(".md")]


def anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    with open(path, encoding="utf-8") as f:
        headings = re.findall(r"(?m)^#+ (.+)$", re.sub(r"(?s)```.*?```", "", f.read()))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


class LinksTest(unittest.TestCase):
    def test_relative_links_resolve(self):
        checked = 0
        for document in DOCUMENTS:
            with open(os.path.join(ROOT, document), encoding="utf-8") as f:
                text = re.sub(r"(?s)```.*?```", "", f.read())
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue  # an absolute URL
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(document), path)) if path else \
                    os.path.join(ROOT, document)
                with self.subTest(document=document, link=target):
                    self.assertTrue(os.path.exists(resolved), "%s links to %s, which does not exist" % (document, target))
                    if anchor:
                        self.assertIn(anchor, anchors(resolved))
                checked += 1
        self.assertGreater(checked, 20)


if __name__ == "__main__":
    unittest.main()
