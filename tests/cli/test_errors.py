#!/usr/bin/python3
"""Bad input: every case ends with exit status 1 and a message that says what is wrong (and
for run-time errors, one line "ringcap: ..."); nothing is left behind on disk."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402


def without_capabilities(argv):
    """argv run with CAP_NET_RAW and CAP_NET_ADMIN gone from every set (root keeps its uid),
    with whichever of setpriv and capsh is installed; None if neither is."""
    if shutil.which("setpriv"):
        return ["setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                "--bounding-set=-net_raw,-net_admin", "--"] + argv
    if shutil.which("capsh"):
        return ["capsh", "--drop=cap_net_raw,cap_net_admin", "--", "-c",
                " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)]
    return None


@nf.skip_unless_ready("tcpdump")
class ErrorTests(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-")
        self.addCleanup(self.tmp.cleanup)
        self.out = os.path.join(self.tmp.name, "out.pcap")

    def fails(self, *args, argv=None):
        """Runs ringcap (in the capture namespace) expecting exit status 1; returns stderr."""
        argv = argv or self.net.ringcap(*args)
        r = nf.run(argv, timeout=20)
        self.assertEqual(r.returncode, 1, f"{argv}: stdout {r.stdout!r} stderr {r.stderr!r}")
        self.assertEqual(r.stdout, "")
        return r.stderr

    def one_line(self, stderr):
        """A run-time error: exactly one line, 'ringcap: ...'. Returns it."""
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, f"expected one line, got:\n{stderr}")
        self.assertTrue(lines[0].startswith("ringcap: "), lines[0])
        return lines[0]

    def assert_nothing_written(self):
        self.assertEqual(os.listdir(self.tmp.name), [], "a file was left behind")

    # -- the interface --

    def test_unknown_interface(self):
        line = self.one_line(self.fails("-i", "nosuchif0"))
        self.assertIn("nosuchif0", line)
        self.assertIn("No such device", line)

    def test_unknown_interface_leaves_no_file(self):
        self.one_line(self.fails("-i", "nosuchif0", "-w", self.out))
        self.assert_nothing_written()

    def test_interface_down(self):
        self.net.set_cap_up(False)
        line = self.one_line(self.fails("-i", self.net.cap_if, "-w", self.out))
        self.assertIn(f"'{self.net.cap_if}' is down", line)
        self.assert_nothing_written()

    def test_interface_down_v2(self):
        self.net.set_cap_up(False)
        line = self.one_line(self.fails("-i", self.net.cap_if, "--tpacket=2"))
        self.assertIn("is down", line)

    # -- the filter --

    def check_bad_filter(self, *words, iface=None):
        iface = iface or self.net.cap_if
        expression = " ".join(words)
        line = self.one_line(self.fails("-i", iface, "-w", self.out, *words))
        self.assertIn(f"'{expression}'", line)
        # libpcap's own words, the ones tcpdump prints for the same expression.
        r = nf.run(self.net.cap(["tcpdump", "-i", iface, "-c", "1", "-w", os.devnull,
                                 *words]), timeout=20)
        self.assertEqual(r.returncode, 1)
        theirs = [l for l in r.stderr.splitlines() if l.startswith("tcpdump: ")][-1]
        self.assertIn(theirs[len("tcpdump: "):], line)
        self.assert_nothing_written()
        return line

    def test_bad_filter_incomplete(self):
        line = self.check_bad_filter("tcp", "port")
        self.assertIn("syntax error", line)

    def test_bad_filter_unknown_words(self):
        self.check_bad_filter("foo", "bar")

    def test_bad_filter_port_range(self):
        line = self.check_bad_filter("udp", "port", "99999")
        self.assertIn("99999", line)

    def test_bad_filter_vlan_on_any(self):
        line = self.check_bad_filter("vlan", "42", iface="any")
        self.assertIn("no VLAN support for Linux cooked v2", line)

    # -- privileges --

    def test_no_cap_net_raw(self):
        argv = without_capabilities([nf.RINGCAP, "-i", self.net.cap_if, "-w", self.out])
        if argv is None:
            self.skipTest("neither setpriv nor capsh is installed")
        line = self.one_line(self.fails(argv=self.net.cap(argv)))
        self.assertIn("CAP_NET_RAW", line)
        self.assertIn("Operation not permitted", line)
        self.assert_nothing_written()

    def test_list_needs_no_privilege(self):
        argv = without_capabilities([nf.RINGCAP, "-D"])
        if argv is None:
            self.skipTest("neither setpriv nor capsh is installed")
        r = nf.run(self.net.cap(argv))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f".{self.net.cap_if} [Up, Running]", r.stdout)

    # -- ring geometry --

    def test_block_size_not_page_multiple(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "--block-size", "5000",
                                        "-w", self.out))
        self.assertIn("5000", line)
        self.assertIn(f"multiple of the page size ({os.sysconf('SC_PAGESIZE')})", line)
        self.assert_nothing_written()

    def test_frame_size_not_aligned(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "--frame-size", "2050",
                                        "--tpacket=2"))
        self.assertIn("2050", line)
        self.assertIn("TPACKET_ALIGNMENT (16)", line)

    def test_frame_larger_than_block(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "--tpacket=2", "--frame-size",
                                        "8192", "--block-size", "4096"))
        self.assertIn("8192", line)
        self.assertIn("4096", line)

    def test_buffer_smaller_than_block(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "-B", "1"))
        self.assertIn("buffer size 1024", line)
        self.assertIn("262144", line)

    # -- the output file --

    def test_output_directory_missing(self):
        path = os.path.join(self.tmp.name, "nonexistent", "dir", "x.pcap")
        line = self.one_line(self.fails("-i", self.net.cap_if, "-w", path))
        self.assertIn(path, line)
        self.assertIn("No such file or directory", line)
        self.assertFalse(os.path.exists(os.path.dirname(path)))
        self.assert_nothing_written()

    def test_output_nonexistent_root_dir(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "-w", "/nonexistent/dir/x.pcap"))
        self.assertIn("/nonexistent/dir/x.pcap", line)
        self.assertFalse(os.path.exists("/nonexistent"))

    def test_output_is_a_directory(self):
        line = self.one_line(self.fails("-i", self.net.cap_if, "-w", self.tmp.name))
        self.assertIn(self.tmp.name, line)
        self.assertIn("Is a directory", line)

    # -- usage errors: CLI11's message and a pointer to --help --

    def usage_error(self, *args):
        stderr = self.fails(*args)
        self.assertIn("Run with --help for usage.", stderr)
        return stderr

    def test_direction_sideways(self):
        stderr = self.usage_error("-i", self.net.cap_if, "-Q", "sideways")
        self.assertIn("sideways", stderr)
        self.assertIn("{in,out,inout}", stderr)

    def test_tpacket_version(self):
        stderr = self.usage_error("-i", self.net.cap_if, "--tpacket=4")
        self.assertIn("4 not in {auto,2,3}", stderr)

    def test_unknown_flag(self):
        self.assertIn("--bogus", self.usage_error("-i", self.net.cap_if, "--bogus"))

    def test_count_not_a_number(self):
        self.assertIn("abc", self.usage_error("-i", self.net.cap_if, "-c", "abc"))

    def test_help_is_not_an_error(self):
        r = nf.run([nf.RINGCAP, "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for flag in ("-i", "-w", "-c", "-Q", "--tpacket", "--block-size", "--nano"):
            self.assertIn(flag, r.stdout)


if __name__ == "__main__":
    nf.main()
