"""The bash completion of sharectl (packaging/bash-completion/sharectl) against sharectl itself.

Each case sources the script in a real bash, sets COMP_WORDS/COMP_CWORD as bash does on TAB, calls
the completion function and reads COMPREPLY. What it should offer comes from `sharectl ... --help`,
walked over every command, so the script cannot miss a command or an option sharectl has.
"""

import os
import shlex
import shutil
import subprocess
import tempfile
import unittest

import cli_help
from cli_support import SHARECTL

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.normpath(os.path.join(ROOT, "packaging", "bash-completion", "sharectl"))


def complete_all(cases, cwd):
    """COMPREPLY (a list) for each list of words, the last being the word under the cursor."""
    lines = ["source %s" % shlex.quote(SCRIPT)]
    for words in cases:
        lines.append("COMP_WORDS=(%s); COMP_CWORD=%d; COMPREPLY=(); _sharectl; printf '%%s\\x1f' \"${COMPREPLY[@]}\"; "
                     "printf '\\x1e'" % (" ".join(shlex.quote(w) for w in words), len(words) - 1))
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(lines)], capture_output=True,
                            text=True, cwd=cwd, timeout=60)
    if result.returncode != 0 or result.stderr:
        raise AssertionError("bash failed (%d): %s" % (result.returncode, result.stderr))
    replies = result.stdout.split("\x1e")[:-1]
    return [sorted(r for r in reply.split("\x1f") if r) for reply in replies]


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.commands = cli_help.walk(SHARECTL)
        cls.root = cls.commands[0]
        cls.dir = tempfile.mkdtemp(prefix="sharelink-completion-")
        for name in ("catalogue.jsonl", "shared-linkd.toml", "backup.db"):
            open(os.path.join(cls.dir, name), "w").close()
        os.mkdir(os.path.join(cls.dir, "media"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def check(self, cases):
        """cases: {tuple of words: expected replies}."""
        got = complete_all(list(cases), self.dir)
        for (words, expected), reply in zip(cases.items(), got):
            with self.subTest(words=" ".join(words)):
                self.assertEqual(reply, sorted(expected))

    def global_options(self):
        return {o for o in self.root.options if o != "-h"}

    def test_every_command_offers_its_subcommands(self):
        self.check({c.path + ("",): c.subcommands for c in self.commands if c.subcommands})

    def test_every_command_offers_its_options_and_the_global_ones(self):
        self.check({c.path + ("--",): {o for o in c.options if o != "-h"} | self.global_options()
                    for c in self.commands})

    def test_a_prefix_narrows_the_offer(self):
        self.check({("sharectl", "sh"): ["share"], ("sharectl", "share", "cr"): ["create"],
                    ("sharectl", "share", "create", "--ex"): ["--expires-in-days", "--expires-at"],
                    ("sharectl", "--js"): ["--json"]})

    def test_global_options_and_their_values_do_not_count_as_commands(self):
        share = next(c for c in self.commands if c.path == ("sharectl", "share"))
        self.check({("sharectl", "--config", "x.toml", "--json", "share", ""): share.subcommands,
                    ("sharectl", "--db", "share", "share", ""): share.subcommands})

    def test_enumerated_values_are_those_the_help_lists(self):
        cases = {}
        for command in self.commands:
            for option, description in command.options.items():
                values = cli_help.choices(description)
                if values:
                    cases[command.path + (option, "")] = values
        self.assertGreaterEqual(len(cases), 6)  # --commercial-use, --requires-attribution, --visibility, ...
        self.assertIn(("sharectl", "share", "list", "--status", ""), cases)
        self.assertIn(("sharectl", "audit", "--format", ""), cases)
        self.check(cases)

    def test_licence_offers_the_classes_to_complete_with_a_version(self):
        self.check({("sharectl", "track", "add", "--licence", "p"): ["personal_only@"]})

    def test_file_arguments_complete_file_names(self):
        names = sorted(os.listdir(self.dir))
        self.check({
            ("sharectl", "--config", ""): names,
            ("sharectl", "--db", "sh"): ["shared-linkd.toml"],
            ("sharectl", "--audit-db", "b"): ["backup.db"],
            ("sharectl", "track", "import", "cat"): ["catalogue.jsonl"],
            ("sharectl", "db", "backup", ""): names,
            ("sharectl", "track", "add", "--audio", "me"): ["media"],
        })

    def test_free_values_and_extra_arguments_offer_nothing(self):
        self.check({("sharectl", "share", "revoke", "--reason", ""): [],
                    ("sharectl", "share", "revoke", "mslink_3a7f2c9e8b14", ""): [],
                    ("sharectl", "track", "add", "--title", ""): [],
                    ("sharectl", "db", "backup", "backup.db", ""): []})


if __name__ == "__main__":
    unittest.main()
