"""infrap4d's control socket beyond table entries, on packets in network
namespaces: the figures `ports` prints (a port's writer drops against the
pipeline's own drops)."""
from scapy.layers.l2 import Ether

from ipdk_net import link_port, wait_until

H1_MAC, H2_MAC, NOBODY_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:99"


def test_ports_drop_line_leaves_writer_drops_out(hosts, infrap4d):
    # port 1 is a ring nobody reads: once its 64 places are full, its writer
    # drops what the pipeline hands it (counted in its tx and its tx_drops)
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    d = infrap4d(ports=[link_port("h1", h1), "name=sink,type=ring,ring-size=64"],
                 entries=["l2_fwd match %s action l2_forward port 1" % H2_MAC])
    h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"to-ring%03d" % i + b"x" * 40)
             for i in range(100)])
    # an l2_fwd miss of no IPv4 frame is the pipeline's own drop
    h1.send([Ether(src=H1_MAC, dst=NOBODY_MAC, type=0x88b6) / (b"dropped%03d" % i + b"x" * 40)
             for i in range(50)])
    assert wait_until(lambda: d.ports()["h1"]["rx"] >= 150 and d.ports()["sink"]["tx"] == 100), \
        d.ports()
    p = d.ports()
    assert p["sink"]["drops"] >= 100 - 64, p
    # whatever came in and was handed to no port: the 50 misses (and any frame
    # of the host's own, which is also a miss); none of the ring's drops
    assert p["(drop)"]["tx"] == p["h1"]["rx"] - p["sink"]["tx"], p
    assert p["(drop)"]["tx"] >= 50, p
