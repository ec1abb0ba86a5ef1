#!/usr/bin/python3
"""How a capture ends: -c N after exactly N packets; SIGINT or SIGTERM in the middle of a flood
leave a file whose every record is whole, and the three summary lines; always exit status 0."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns_fixture as nf  # noqa: E402


@nf.skip_unless_ready("capinfos", "tshark")
class StopTests(nf.NetTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="ringcap-cli-")
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "out.pcap")

    def numbered_frames(self, n, size=100):
        # Each frame carries its number in the UDP source port, so order can be checked.
        return [nf.udp_frame(nf.OTHER_HOST, self.net.snd_mac, size, sport=10000 + i)
                for i in range(n)]

    def flood_frames(self):
        src = self.net.snd_mac
        return [nf.udp_frame(nf.OTHER_HOST, src, 60), nf.udp_frame(nf.OTHER_HOST, src, 128),
                nf.udp_frame(nf.OTHER_HOST, src, 100, vlan=(42, 1)),
                nf.udp_frame(nf.OTHER_HOST, src, 600)]

    def assert_readers_agree(self, path, count, tshark=True):
        status, info, err = nf.capinfos(path)
        self.assertEqual((status, err), (0, ""), f"capinfos complained: {err}")
        self.assertEqual(info.get("Number of packets"), str(count))
        if not tshark:
            return  # dissecting a flood's hundreds of thousands of packets takes too long
        status, lines, err = nf.tshark_read(path)
        self.assertEqual((status, err), (0, ""), f"tshark complained: {err}")
        self.assertEqual(len(lines), count)

    # -- -c --

    def check_count(self, *extra):
        frames = self.numbered_frames(20)
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path, "-c", "7", *extra)
        self.net.send(frames)
        status, _, err = p.finish(timeout=10)  # exits on its own
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=7)
        f = nf.read_pcap(self.path)
        self.assertEqual([r.data for r in f.records], frames[:7])
        self.assert_readers_agree(self.path, 7)

    def test_count_v3(self):
        self.check_count()

    def test_count_v2(self):
        self.check_count("--tpacket=2")

    def test_count_immediate_mode(self):
        self.check_count("--immediate-mode")

    def test_count_one_packet(self):
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path, "-c", "1")
        self.net.send(self.numbered_frames(3))
        status, _, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertRegex(err, r"(?m)^1 packet captured$")  # tcpdump's singular
        self.assertEqual(len(nf.read_pcap(self.path).records), 1)

    def test_count_under_flood(self):
        """-c 5000 while frames pour in: stops at exactly 5000, mid-batch."""
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path, "-c", "5000")
        flood = self.net.flood(self.flood_frames(), 3)
        try:
            status, _, err = p.finish(timeout=15)
        finally:
            flood.communicate(timeout=30)
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=5000)
        self.assertEqual(len(nf.read_pcap(self.path).records), 5000)
        self.assert_readers_agree(self.path, 5000)

    def test_count_printing(self):
        frames = self.numbered_frames(10)
        p = self.start_ringcap("-i", self.net.cap_if, "-c", "4", stdout=subprocess.PIPE)
        self.net.send(frames)
        status, out, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assertEqual(len(out.decode().splitlines()), 4, out)
        self.assert_summary(err, captured=4)

    # -- signals while writing at a high rate --

    def check_signal_under_flood(self, sig, *extra, path=None):
        path = path or self.path
        p = self.start_ringcap("-i", self.net.cap_if, "-w", path, *extra)
        flood = self.net.flood(self.flood_frames(), 1.5)
        try:
            time.sleep(0.8)
            p.send_signal(sig)
            status, _, err = p.finish(timeout=15)
        finally:
            out, flood_err = flood.communicate(timeout=30)
        self.assertEqual(flood.returncode, 0, flood_err)
        self.assertEqual(status, 0, err)
        captured, received, dropped = self.assert_summary(err)
        self.assertGreater(captured, 1000, f"the flood hardly reached ringcap: {out} / {err}")
        self.assertGreaterEqual(received, captured)
        f = nf.read_pcap(path)  # strict: every record whole, nothing after the last one
        self.assertEqual(len(f.records), captured)
        payloads = {fr for fr in self.flood_frames()}
        for i, r in enumerate(f.records):
            self.assertIn(r.data, payloads, f"record {i} is not one of the frames sent")
            self.assertEqual(r.length, len(r.data))
        self.assert_readers_agree(path, captured, tshark=False)
        return f

    def test_sigint_under_flood(self):
        self.check_signal_under_flood(signal.SIGINT)

    def test_sigterm_under_flood(self):
        self.check_signal_under_flood(signal.SIGTERM)

    def test_sigint_under_flood_v2(self):
        self.check_signal_under_flood(signal.SIGINT, "--tpacket=2")

    def test_sigterm_under_flood_nano_packet_buffered(self):
        f = self.check_signal_under_flood(signal.SIGTERM, "--nano", "-U")
        self.assertTrue(f.nano)

    def test_sigterm_under_flood_to_stdout(self):
        """-w - : what reached standard output is a whole pcap, as many records as counted."""
        p = self.start_ringcap("-i", self.net.cap_if, "-w", "-", stdout=subprocess.PIPE)
        flood = self.net.flood(self.flood_frames(), 1.5)
        try:
            time.sleep(0.8)
            p.send_signal(signal.SIGTERM)
            status, out, err = p.finish(timeout=15)
        finally:
            flood.communicate(timeout=30)
        self.assertEqual(status, 0, err)
        captured, _, _ = self.assert_summary(err)
        self.assertGreater(captured, 1000)
        self.assertEqual(len(nf.parse_pcap(out).records), captured)

    def test_sigint_under_flood_printing(self):
        """Without -w: one line for every packet counted, none lost at the end."""
        p = self.start_ringcap("-i", self.net.cap_if, stdout=subprocess.PIPE)
        flood = self.net.flood(self.flood_frames(), 1.5)
        try:
            time.sleep(0.8)
            p.send_signal(signal.SIGINT)
            status, out, err = p.finish(timeout=15)
        finally:
            flood.communicate(timeout=30)
        self.assertEqual(status, 0, err)
        captured, _, _ = self.assert_summary(err)
        self.assertGreater(captured, 1000)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), captured)
        # UDP payloads of the 60-, 128-, 600-byte frames and of the tagged 100-byte one.
        self.assertTrue(all(l.endswith(("UDP, length 18", "UDP, length 86", "UDP, length 558",
                                        "UDP, length 54")) for l in lines), lines[:5])

    # -- the interface goes away under ringcap --

    def check_interface_down(self, *extra):
        """Frames leave through the captured interface, which is set down microseconds later:
        ringcap ends with status 1 and says why, but only after writing every packet the kernel
        had already put in the ring (the summary's two counts agree)."""
        frames = self.numbered_frames(20)
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path, *extra)
        self.net.send(frames, side="cap", then_down=True)
        status, _, err = p.finish(timeout=10)
        self.assertEqual(status, 1, err)
        self.assertRegex(err, rf"(?m)^ringcap: capture on '{self.net.cap_if}': Network is down "
                              r"\(the interface went down\)$")
        captured, received, dropped = self.assert_summary(err)
        self.assertEqual((received, dropped), (20, 0), err)
        self.assertEqual(captured, 20, "packets in the ring were not written out:\n" + err)
        self.assertEqual([r.data for r in nf.read_pcap(self.path).records], frames)
        self.assert_readers_agree(self.path, 20)

    def test_interface_down_v3(self):
        self.check_interface_down()

    def test_interface_down_v3_slow_block_timeout(self):
        self.check_interface_down("--block-timeout", "200")

    def test_interface_down_v2(self):
        self.check_interface_down("--tpacket=2")

    def test_interface_deleted(self):
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path)
        self.net.send(self.numbered_frames(5))
        nf.run(["ip", "-n", self.net.snd_ns, "link", "del", self.net.snd_if], check=True)
        status, _, err = p.finish(timeout=10)
        self.assertEqual(status, 1, err)
        self.assertRegex(err, rf"(?m)^ringcap: capture on '{self.net.cap_if}': ")
        self.assert_summary(err, captured=5)
        self.assertEqual(len(nf.read_pcap(self.path).records), 5)

    def test_sigint_idle(self):
        """Nothing captured at all: still a valid (header-only) file and the summary."""
        p = self.start_ringcap("-i", self.net.cap_if, "-w", self.path)
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        status, _, err = p.finish(timeout=10)
        self.assertEqual(status, 0, err)
        self.assert_summary(err, captured=0)
        self.assertEqual(os.path.getsize(self.path), 24)
        self.assertEqual(nf.read_pcap(self.path).records, [])
        self.assert_readers_agree(self.path, 0)


if __name__ == "__main__":
    nf.main()
