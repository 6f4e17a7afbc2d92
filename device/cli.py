"""`hailong device`: simulate a rating box, find boxes, read their HELLO, watch presses,
test the buttons, change the box's settings, measure press-to-commit latency, and flash
the firmware."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from hailong.i18n import _

if TYPE_CHECKING:
    from hailong.device.session import BoxInfo

Emit = Callable[[dict], None]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "device",
        help=_("simulate, find and test rating boxes"),
        description=_(
            "Tools for the rating box (the box of big buttons on a serial line): a simulator "
            "that speaks the box's protocol on a pseudo-terminal, technician commands to "
            "find, identify, watch, test and configure real boxes, and a benchmark."
        ),
    )
    commands = parser.add_subparsers(dest="device_command", metavar=_("COMMAND"), required=True)
    _add_simulate(commands)
    _add_probe(commands)
    _add_monitor(commands)
    _add_list(commands)
    _add_test(commands)
    _add_set(commands)
    _add_bench(commands)
    _add_flash(commands)


def _add_simulate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "simulate",
        help=_("run a simulated rating box on a new pseudo-terminal"),
        description=_(
            "Run a simulated rating box on a new pseudo-terminal. The first line printed is a "
            "JSON object with the terminal's path; then one JSON object per line for everything "
            "the box sends and receives. Commands are read from standard input, one per line: "
            "press N, hold N MS, unplug, replug, reboot, garbage N, quit. Unplug keeps the box "
            "powered (presses wait for replug); reboot loses presses not yet acknowledged, as "
            "a real box loses its RAM. The simulator stops at quit, end of input or Ctrl-C."
        ),
    )
    p.add_argument("--link", metavar=_("PATH"), help=_("make a symlink to the terminal here"))
    p.add_argument("--buttons", type=int, default=4, help=_("number of buttons (default: 4)"))
    p.add_argument("--serial", default="HLSIM0001", help=_("serial number (default: HLSIM0001)"))
    p.add_argument(
        "--drop",
        type=float,
        default=0.0,
        metavar=_("PCT"),
        help=_("percentage of frames lost on the line, both ways (default: 0)"),
    )
    p.add_argument(
        "--corrupt",
        type=float,
        default=0.0,
        metavar=_("PCT"),
        help=_("percentage of frames damaged on the line, both ways (default: 0)"),
    )
    p.add_argument("--seed", type=int, help=_("random seed, to repeat a run exactly"))
    p.set_defaults(func=_simulate)


def _add_port_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "port",
        metavar=_("PORT"),
        help=_("serial port path (best: /dev/serial/by-id/...), or auto to find it by USB id"),
    )
    p.add_argument(
        "--usb-id",
        default="2341:0043",
        metavar=_("VID:PID"),
        help=_("USB id to look for with PORT=auto (default: 2341:0043)"),
    )
    p.add_argument(
        "--serial-number", default="", help=_("USB serial number to look for with PORT=auto")
    )


def _add_probe(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "probe",
        help=_("ask the box on PORT to introduce itself"),
        description=_(
            "Open PORT, ask the rating box there for its HELLO and print it: protocol "
            "version, model, firmware, serial number, number of buttons and boot nonce."
        ),
    )
    _add_port_arguments(p)
    p.add_argument(
        "--timeout", type=float, default=2.0, help=_("seconds to wait for an answer (default: 2)")
    )
    p.add_argument("--json", action="store_true", help=_("print one JSON object"))
    p.set_defaults(func=_probe)


def _add_monitor(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "monitor",
        help=_("show the box's presses and connection changes as they happen"),
        description=_(
            "Connect to the box on PORT and print every press (once, even when the box sends "
            "it again) and every connection change, until Ctrl-C. The monitor acknowledges "
            "each press it sees, so the box stops resending it and lights its confirmation: "
            "nothing stores these presses, so do not run it beside a kiosk that should "
            "record them (the port is exclusive anyway)."
        ),
    )
    _add_port_arguments(p)
    p.add_argument(
        "--json",
        action="store_true",
        help=_("one JSON object per line, each with an event field (and button for presses)"),
    )
    p.set_defaults(func=_monitor)


def _add_list(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "list",
        help=_("list serial ports and whether a rating box answers on each"),
        description=_(
            "List the serial ports with their USB id, serial number and /dev/serial/by-id "
            "path, and ask each USB port briefly whether a rating box answers there."
        ),
    )
    p.add_argument("--json", action="store_true", help=_("one JSON object per port and line"))
    p.add_argument("--no-probe", action="store_true", help=_("do not send anything to the ports"))
    p.set_defaults(func=_list)


def _add_connect_timeout(p: argparse.ArgumentParser) -> None:
    from hailong.device.session import HANDSHAKE_TIMEOUT_S

    p.add_argument(
        "--connect-timeout-s",
        type=float,
        default=HANDSHAKE_TIMEOUT_S,
        metavar=_("SECONDS"),
        help=_(
            "how long to wait for the box to answer after opening the port; an Arduino Uno "
            "restarts when the port opens (default: {seconds:g})"
        ).format(seconds=HANDSHAKE_TIMEOUT_S),
    )


def _add_test(commands: argparse._SubParsersAction) -> None:
    from hailong.device.technician import DEFAULT_BUTTON_TIMEOUT_S

    p = commands.add_parser(
        "test",
        help=_("guide a technician through pressing every button of the box"),
        description=_(
            "Connect to the box on PORT and ask for its buttons one by one: the button to "
            "press now is named here and its light is steady on (the others are dark). A "
            "press of that button passes it and lights its confirmation; a button not "
            "pressed in time fails and blinks. Reports pass or fail per button and exits "
            "with status 1 when any button failed. Reads nothing from standard input. The "
            "presses are acknowledged but stored nowhere; presses the box was still keeping "
            "from before the test are left for the kiosk to store."
        ),
    )
    _add_port_arguments(p)
    _add_connect_timeout(p)
    p.add_argument(
        "--timeout-s",
        type=float,
        default=DEFAULT_BUTTON_TIMEOUT_S,
        metavar=_("SECONDS"),
        help=_("how long to wait for each button (default: {seconds:g})").format(
            seconds=DEFAULT_BUTTON_TIMEOUT_S
        ),
    )
    p.add_argument(
        "--json",
        action="store_true",
        help=_("one JSON object per line for every step, each with an event field"),
    )
    p.set_defaults(func=_test)


def _add_set(commands: argparse._SubParsersAction) -> None:
    from hailong.device.protocol_constants import DEBOUNCE_MS_MAX, DEBOUNCE_MS_MIN, LABEL_LEN

    p = commands.add_parser(
        "set",
        help=_("change the settings kept in the box (label, debounce time, LED brightness)"),
        description=_(
            "Write settings to the box on PORT, read them back and print them. Keys: label "
            "(at most {label_len} bytes of UTF-8, e.g. label='Quầy 1'), debounce_ms ({low} "
            "to {high}) and led_brightness (0 to 255); settings not named keep their value. "
            "Values are checked before anything is sent. A kiosk writes the settings of its "
            "configuration file (the device section) every time it connects to the box, so "
            "change them there too."
        ).format(label_len=LABEL_LEN, low=DEBOUNCE_MS_MIN, high=DEBOUNCE_MS_MAX),
    )
    _add_port_arguments(p)
    _add_connect_timeout(p)
    p.add_argument("settings", nargs="+", metavar=_("KEY=VALUE"), help=_("a setting to change"))
    p.add_argument("--json", action="store_true", help=_("print the settings as one JSON object"))
    p.set_defaults(func=_set)


def _add_bench(commands: argparse._SubParsersAction) -> None:
    from hailong.device import bench  # standard library only at import time

    p = commands.add_parser(
        "bench",
        help=_("measure the time from a press on the line to the rating committed on disk"),
        description=_(
            "Run the kiosk's real driver, rating session and database against a box on a "
            "pseudo-terminal, press the buttons many times and report the median and 99th "
            "percentile of the time from the last byte of each press frame on the line to "
            "the rating committed, beside a plain SQLite commit measured in the same run."
        ),
    )
    bench.add_arguments(p)
    p.set_defaults(func=_bench)


def _add_flash(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "flash",
        help=_("write the box firmware to a board with avrdude"),
        description=_(
            "Build the box firmware (or take --hex FILE) and write it with avrdude to the "
            "ATmega328P board (Arduino Uno or Nano) on PORT through its bootloader. Stop the "
            "kiosk first: the port must be free. Needs the avrdude package."
        ),
    )
    p.add_argument("port", metavar=_("PORT"), help=_("serial port path of the board"))
    p.add_argument(
        "--hex", type=Path, metavar=_("FILE"),
        help=_("an Intel HEX image to write instead of building the firmware"),
    )
    p.add_argument(
        "--baud", type=int, default=115200,
        help=_("bootloader speed (default: 115200; old Nano bootloaders use 57600)"),
    )
    p.add_argument(
        "--dry-run", action="store_true",
        help=_("print the avrdude command and do nothing else (no build, no port opened)"),
    )
    p.set_defaults(func=_flash)


def _json_printer() -> Emit:
    lock = threading.Lock()

    def emit(event: dict) -> None:
        # A reader that went away must not stop the simulator; quit or Ctrl-C does.
        with lock, contextlib.suppress(BrokenPipeError, ValueError):
            print(json.dumps(event), flush=True)

    return emit


def _stop_on_sigterm() -> None:
    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


def _simulate(args: argparse.Namespace) -> int:
    from hailong.device.simulator import CommandError, Simulator, execute_command

    emit = _json_printer()
    try:
        sim = Simulator(
            buttons=args.buttons,
            serial=args.serial,
            link=args.link,
            drop=args.drop,
            corrupt=args.corrupt,
            seed=args.seed,
            on_event=emit,
        )
    except ValueError as exc:
        print(_("Cannot start the simulator: {error}").format(error=exc), file=sys.stderr)
        return 2
    # Before the simulator announces itself: a parent may stop it as soon as it reads "ready".
    _stop_on_sigterm()
    try:
        sim.start()
        for line in sys.stdin:
            try:
                if not execute_command(sim, line):
                    break
            except CommandError as exc:
                emit({"event": "command_error", "line": line.strip(), "message": str(exc)})
    except OSError as exc:
        print(_("Cannot start the simulator: {error}").format(error=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
        emit({"event": "stopped"})
    return 0


def _on_box(args: argparse.Namespace, action: Callable[[str], int]) -> int:
    """Run `action(port)` on the port named by the arguments (or found by USB id). Every
    problem with the port or the box (missing, busy, not accessible, not a rating box,
    another protocol version, lost mid-way) is one clear line on stderr, exit status 1."""
    from hailong.device.driver import BoxError, PortMissingError, find_box_port

    try:
        port = args.port
        if port == "auto":
            try:
                port = find_box_port(args.usb_id, args.serial_number)
            except ValueError as exc:  # a USB id that is not VID:PID
                print(exc, file=sys.stderr)
                return 2
            if port is None:
                raise PortMissingError(
                    _("No rating box with USB id {usb_id} is plugged in.").format(
                        usb_id=args.usb_id
                    )
                )
        return action(port)
    except BoxError as exc:
        print(exc, file=sys.stderr)
        return 1


def _probe(args: argparse.Namespace) -> int:
    from hailong.device.driver import probe

    def action(port: str) -> int:
        _print_hello(port, probe(port, timeout=args.timeout), args.json)
        return 0

    return _on_box(args, action)


def _print_hello(port: str, info: BoxInfo, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"port": port, **asdict(info)}))
        return
    print(_("Rating box on {port}").format(port=port))
    rows = (
        (_("protocol version"), info.protocol),
        (_("model"), info.model),
        (_("firmware"), info.firmware),
        (_("serial number"), info.serial),
        (_("buttons"), info.buttons),
        (_("boot nonce"), f"{info.boot_nonce} (0x{info.boot_nonce:08x})"),
    )
    for name, value in rows:
        print(f"  {name}: {value}")


def _monitor(args: argparse.Namespace) -> int:
    from hailong.device.driver import BoxDriver, BoxPress, BoxState

    port = args.port
    emit = _json_printer() if args.json else _human_printer()
    seen: set[tuple[str, int, int]] = set()

    def on_press(press: BoxPress) -> None:
        key = (press.serial, press.boot_nonce, press.seq)
        if key not in seen:
            seen.add(key)
            emit(
                {
                    "event": "press",
                    "button": press.button,
                    "seq": press.seq,
                    "serial": press.serial,
                    "boot_nonce": press.boot_nonce,
                }
            )
        driver.acknowledge(press)

    def on_state(state: BoxState, info: BoxInfo | None) -> None:
        emit({"event": "state", "state": state.value, **(asdict(info) if info else {})})

    driver = BoxDriver(
        port,
        on_press=on_press,
        on_state=on_state,
        usb_vid_pid=args.usb_id,
        serial_number=args.serial_number,
    )
    stop = threading.Event()
    _stop_on_sigterm()
    driver.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        driver.stop()
    return 0


def _human_printer() -> Emit:
    def emit(event: dict) -> None:
        if event["event"] == "press":
            text = _("button {button} pressed (box {serial}, sequence {seq})").format(**event)
        elif event["state"] == "connected":
            text = _("connected: {model} {serial}, firmware {firmware}, {buttons} buttons").format(
                **event
            )
        elif event["state"] == "connecting":
            text = _("connecting…")
        else:
            text = _("disconnected")
        print(text, flush=True)

    return emit


def _list(args: argparse.Namespace) -> int:
    from serial.tools import list_ports

    from hailong.device.driver import BoxError, by_id_paths, probe

    by_id = by_id_paths()
    rows = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        row = {
            "port": port.device,
            "usb_id": f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else "",
            "serial_number": port.serial_number or "",
            "by_id": by_id.get(os.path.realpath(port.device), ""),
            "description": port.description or "",
            "box": None,
            "answer": "",
        }
        if port.vid is not None and not args.no_probe:
            try:
                info = probe(port.device, timeout=0.5)
                row["box"] = asdict(info)
                row["answer"] = _("rating box {serial}, firmware {firmware}").format(
                    serial=info.serial, firmware=info.firmware
                )
            except BoxError as exc:
                row["answer"] = str(exc)
        rows.append(row)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(_("No serial ports found."))
        return 0
    for row in rows:
        print(row["port"])
        print("  " + _("USB id: {usb_id}").format(usb_id=row["usb_id"] or "-"))
        print("  " + _("serial number: {serial}").format(serial=row["serial_number"] or "-"))
        print("  " + _("by-id path: {path}").format(path=row["by_id"] or "-"))
        print("  " + _("description: {text}").format(text=row["description"] or "-"))
        if not args.no_probe and row["usb_id"]:
            print("  " + _("box: {answer}").format(answer=row["answer"]))
    return 0


def _test(args: argparse.Namespace) -> int:
    from hailong.device.box_link import BoxLink
    from hailong.device.technician import ButtonTest, run_button_test

    if args.timeout_s <= 0:
        print(_("--timeout-s must be positive."), file=sys.stderr)
        return 2
    report = _json_printer() if args.json else _print_test_step

    def action(port: str) -> int:
        _stop_on_sigterm()
        with BoxLink(port, timeout_s=args.connect_timeout_s) as link:
            assert link.info is not None
            test = ButtonTest(link.info.buttons, args.timeout_s)
            return 0 if run_button_test(link, test, report) else 1

    return _on_box(args, action)


def _print_test_step(event: dict) -> None:
    match event["event"]:
        case "start":
            text = _(
                "Testing rating box {serial} ({buttons} buttons{label}). Press each button "
                "when asked; each has {timeout_s:g} s."
            ).format(
                serial=event["serial"],
                buttons=event["buttons"],
                label=f", {event['label']}" if event["label"] else "",
                timeout_s=event["timeout_s"],
            )
        case "stale":
            text = _(
                "The box was still keeping a press of button {button} from before the test; "
                "it is left for the kiosk to store."
            ).format(button=event["button"])
        case "waiting":
            text = _("Press button {button} now (its light is on).").format(button=event["button"])
        case "other":
            text = _("  button {button} was pressed; waiting for button {expected}").format(**event)
        case "pass":
            text = _("  button {button}: pass ({seconds:.1f} s)").format(**event)
        case "fail":
            others = ", ".join(str(b) for b in event["others"]) or _("none")
            text = _(
                "  button {button}: FAIL, not pressed in time (other buttons seen: {others})"
            ).format(button=event["button"], others=others)
        case _:
            if event["passed"]:
                text = _("Every button passed.")
            else:
                failed = ", ".join(str(b) for b in event["failed"])
                text = _("Failed buttons: {failed}.").format(failed=failed)
    print(text, flush=True)


def _set(args: argparse.Namespace) -> int:
    from hailong.device.technician import SettingsInputError, parse_settings

    try:
        changes = parse_settings(args.settings)
    except SettingsInputError as exc:
        print(exc, file=sys.stderr)
        return 2

    def action(port: str) -> int:
        from hailong.device.box_link import BoxLink
        from hailong.device.technician import write_settings

        with BoxLink(port, timeout_s=args.connect_timeout_s) as link:
            stored = asdict(write_settings(link, changes))
        if args.json:
            print(json.dumps({"port": port, **stored}, ensure_ascii=False))
            return 0
        print(_("The box on {port} now keeps:").format(port=port))
        for key, value in stored.items():
            print(f"  {key}: {value}")
        return 0

    return _on_box(args, action)


def _flash(args: argparse.Namespace) -> int:
    from hailong.device.flash import (
        FIRMWARE_HEX,
        FlashError,
        avrdude_command,
        find_avrdude,
        firmware_hex,
        run_avrdude,
    )

    try:
        if args.dry_run:
            command = avrdude_command(args.port, args.hex or FIRMWARE_HEX, baud=args.baud)
            print(shlex.join(command))
            return 0
        avrdude = find_avrdude()
        image = firmware_hex(args.hex)
        command = avrdude_command(args.port, image, baud=args.baud, avrdude=avrdude)
        print(shlex.join(command), flush=True)
        run_avrdude(command)
    except FlashError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(_("The firmware is on the board at {port}.").format(port=args.port))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from hailong.device import bench

    return bench.run(args, " ".join(["hailong", *sys.argv[1:]]))
