"""The man pages built from docs/man/*.scd: they render without warnings, and document what the
programs have: every sharectl command and option (from `sharectl ... --help`, walked over every
command), every shared-linkd option, every configuration key the parser knows
(known_config_keys(), printed by config_keys_tool), and the exit codes.

Run as a script (CTest does): exits 77, CTest's skip code, when the pages were not built (no
scdoc) or man or groff is missing.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

import cli_help

BUILD_DIR = os.environ.get("SHARELINK_BUILD_DIR", "")
MAN_DIR = os.path.join(BUILD_DIR, "man")
PAGES = ("sharectl.1", "shared-linkd.8", "shared-linkd.toml.5")
SHARECTL = os.environ.get("SHARECTL", "sharectl")
SHARED_LINKD = os.environ.get("SHARED_LINKD", "shared-linkd")
CONFIG_KEYS_TOOL = os.environ.get("CONFIG_KEYS_TOOL", "config_keys_tool")

# Keys the contract (SPEC 7, 12, 13) defines and the man page documents, which this build's parser
# does not read yet. Each must leave this list once the parser knows it (a test says so).
KEYS_AHEAD_OF_THE_PARSER = set()


def page_path(page):
    return os.path.join(MAN_DIR, page)


def plain_text(page):
    """The page as text, 200 columns wide and never hyphenated, so that names stay whole."""
    result = subprocess.run(["groff", "-man", "-Tutf8", "-rLL=200n", "-rHY=0", "-P-cbou", page_path(page)],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def section(text, title):
    """The lines of one top-level section (its heading at column 0) of a rendered page."""
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))
    return lines[start + 1:end]


class ManPagesTest(unittest.TestCase):
    def test_each_page_renders_without_warnings(self):
        for page in PAGES:
            for path in (page_path(page), page_path(page) + ".gz"):
                with self.subTest(page=os.path.basename(path)):
                    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
                    result = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                                            env=env, timeout=60)
                    self.assertEqual((result.returncode, result.stderr), (0, ""))
                    self.assertIn("NAME", result.stdout)
                    self.assertIn(page.rsplit(".", 1)[0] + " - ", result.stdout)
            with self.subTest(page=page, check="groff -ww"):
                result = subprocess.run(["groff", "-ww", "-z", "-man", page_path(page)], capture_output=True,
                                        text=True, timeout=60)
                self.assertEqual((result.returncode, result.stderr), (0, ""))

    def command_entries(self, text):
        """{command path: its entry's text} of sharectl(1)'s COMMANDS section."""
        entries, current = {}, None
        for line in section(text, "COMMANDS"):
            head = re.match(r"^ {7}(\S.*)$", line)
            if head:
                words = []
                for word in head.group(1).split():
                    if not re.fullmatch(r"[a-z][a-z-]*", word):
                        break
                    words.append(word)
                current = " ".join(["sharectl"] + words)
                entries[current] = head.group(1)
            elif current is not None:
                entries[current] += "\n" + line
        return entries

    def test_every_sharectl_command_and_option_is_documented(self):
        text = plain_text("sharectl.1")
        entries = self.command_entries(text)
        commands = cli_help.walk(SHARECTL)
        self.assertGreater(len(commands), 30)
        globals_text = "\n".join(section(text, "GLOBAL OPTIONS"))
        for option in commands[0].options:
            with self.subTest(option=option):
                self.assertRegex(globals_text, r"(?m)^\s+(\S+, )?%s\b" % re.escape(option))
        for command in commands[1:]:
            if command.subcommands and list(command.options) == ["-h", "--help"]:
                continue  # a group (share, track, ...): its commands have the entries
            with self.subTest(command=command.name):
                self.assertIn(command.name, entries)
                for option in command.options:
                    if option in ("-h", "--help"):
                        continue
                    self.assertRegex(entries[command.name], r"%s\b" % re.escape(option),
                                     "%s %s is not in its entry" % (command.name, option))

    def test_every_shared_linkd_option_is_documented(self):
        options = "\n".join(section(plain_text("shared-linkd.8"), "OPTIONS"))
        (daemon,) = cli_help.walk(SHARED_LINKD)
        self.assertIn("--check-config", daemon.options)
        for option in daemon.options:
            with self.subTest(option=option):
                self.assertRegex(options, r"(?m)^\s+(\S+, )?%s\b" % re.escape(option))

    def documented_keys(self):
        """The keys shared-linkd.toml(5) gives an entry: "key (type, default ...)" lines."""
        return re.findall(r"(?m)^ {7}([a-z0-9_]+(?:\.[a-z0-9_]+)+) \((?:string|integer|boolean|path|array of strings), "
                          r"default ", plain_text("shared-linkd.toml.5"))

    def known_keys(self):
        result = subprocess.run([CONFIG_KEYS_TOOL], capture_output=True, text=True, timeout=30, check=True)
        keys = result.stdout.split()
        self.assertGreater(len(keys), 20)
        return keys

    def test_every_config_key_the_parser_knows_is_documented(self):
        documented = self.documented_keys()
        for key in self.known_keys():
            with self.subTest(key=key):
                self.assertIn(key, documented)
        self.assertEqual(len(documented), len(set(documented)), "a key documented twice")

    def test_every_documented_config_key_is_one_the_contract_has(self):
        known = set(self.known_keys())
        for key in self.documented_keys():
            with self.subTest(key=key):
                self.assertTrue(key in known or key in KEYS_AHEAD_OF_THE_PARSER, "%s is not a key" % key)
        for key in KEYS_AHEAD_OF_THE_PARSER:
            with self.subTest(ahead=key):
                self.assertNotIn(key, known, "the parser knows %s now: take it out of KEYS_AHEAD_OF_THE_PARSER" % key)

    def test_exit_codes_are_documented(self):
        help_text = subprocess.run([SHARECTL, "--help"], capture_output=True, text=True, timeout=30).stdout
        footer = help_text[help_text.index("Exit codes:"):]
        codes = [int(c) for c in re.findall(r"(?<![0-9-])([0-9]) [a-z]", footer)]
        self.assertEqual(codes, [0, 1, 2, 3, 4])
        for page, expected in (("sharectl.1", codes), ("shared-linkd.8", [0, 1, 2])):
            with self.subTest(page=page):
                status = section(plain_text(page), "EXIT STATUS")
                self.assertEqual([int(line.strip()) for line in status if re.fullmatch(r"\s+[0-9]", line)], expected)


if __name__ == "__main__":
    missing = [page for page in PAGES if not os.path.exists(page_path(page))]
    if missing:
        print("SKIPPED: the man pages were not built (%s missing in %s): install scdoc and rebuild"
              % (", ".join(missing), MAN_DIR))
        sys.exit(77)
    tools = [tool for tool in ("man", "groff") if not shutil.which(tool)]
    if tools:
        print("SKIPPED: %s missing (Debian packages man-db, groff-base)" % " and ".join(tools))
        sys.exit(77)
    unittest.main(verbosity=2)
