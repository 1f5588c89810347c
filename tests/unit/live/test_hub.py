"""The live event hub: numbering, bounded replay, wake-ups across threads."""

from __future__ import annotations

import asyncio
import threading

from cl_server.live.hub import EventHub


def test_events_are_numbered_in_order_from_the_first_seq() -> None:
    hub = EventHub(first_seq=100)
    assert hub.latest_seq == 99
    first = hub.publish("job", "{}", owner="u1")
    second = hub.publish("worker", "{}")
    assert (first.seq, second.seq) == (100, 101)
    assert hub.latest_seq == 101
    assert [e.seq for e in hub.after(99).events] == [100, 101]
    assert [e.seq for e in hub.after(100).events] == [101]
    assert hub.after(101).events == [] and not hub.after(101).lost


def test_a_cursor_outside_the_buffer_is_lost() -> None:
    hub = EventHub(capacity=3, first_seq=1)
    for _ in range(5):
        hub.publish("job", "{}")
    # Events 3, 4, 5 are kept: resuming after 2 still works, after 1 it cannot.
    assert [e.seq for e in hub.after(2).events] == [3, 4, 5]
    assert hub.after(1).lost
    assert hub.after(6).lost  # an id this hub never gave out (another run of the service)


def test_a_fresh_hub_numbers_above_an_earlier_run() -> None:
    earlier = EventHub()
    old_id = earlier.publish("job", "{}").seq
    later = EventHub()
    assert later.latest_seq >= old_id
    assert later.after(old_id - 1).lost


async def test_publish_from_another_thread_wakes_a_subscriber() -> None:
    hub = EventHub(first_seq=1)
    with hub.subscription() as wakeup:
        assert hub.subscriber_count == 1
        thread = threading.Thread(target=hub.publish, args=("job", "{}"))
        thread.start()
        await asyncio.wait_for(wakeup.wait(), 5)
        thread.join()
    assert hub.subscriber_count == 0


async def test_close_wakes_subscribers_and_later_ones_at_once() -> None:
    hub = EventHub()
    with hub.subscription() as wakeup:
        hub.close()
        await asyncio.wait_for(wakeup.wait(), 5)
    with hub.subscription() as late:
        assert late.is_set()
    assert hub.closed
