#!/usr/bin/env python3
"""A plugin that does only what docs/PROTOCOL.md calls the minimum, and nothing more.

Python's standard library and its stock HTTP server (http.server) on the Unix socket the host
names in PLUGIN_SOCKET. No access token, lifeline, manifest or structured errors: a plugwire
host (or a Go host) loads it as a version 1 plugin.
spec/integration/compat/minimal-plugin.spec.ts keeps the doc's minimum honest by loading it
with connect(). Python 3.8 or later.

Routes: /greet (a string), /add (two numbers), /slow (milliseconds to sleep), /fail, /pid,
and one stream method, /count (a whole number): its items as NDJSON frames to a caller that
sends x-plugwire-stream: 1 (a plugwire host), else as one JSON array (docs/PROTOCOL.md,
"Streamed results").
"""
import calendar
import json
import os
import re
import signal
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler


class Invalid(Exception):
    """A payload that does not fit the method: 422."""


def greet(name):
    if not isinstance(name, str):
        raise Invalid(f'greet takes a string, got {json.dumps(name)}')
    return f'hello {name}'


def add(numbers):
    if not (isinstance(numbers, list) and len(numbers) == 2 and all(type(n) in (int, float) for n in numbers)):
        raise Invalid('add takes two numbers')
    return numbers[0] + numbers[1]


def slow(ms):
    time.sleep(ms / 1000)
    return 'done'


def fail(_):
    raise RuntimeError('fail always fails')


# One parameter travels as the Payload itself, several as a JSON array, none as null.
METHODS = {'/greet': greet, '/add': add, '/slow': slow, '/fail': fail, '/pid': lambda _: os.getpid()}

COUNT_LIMIT = 1000


def count(n):
    """A stream method: the whole numbers from 0 to n - 1. Past COUNT_LIMIT it fails, after
    the items before it: an error in the middle of a stream."""
    if type(n) is not int or n < 0:
        raise Invalid('count takes a whole number')
    for i in range(n):
        if i == COUNT_LIMIT:
            raise RuntimeError(f'count stops at {COUNT_LIMIT}')
        yield i


# Stream methods are generator functions; their items are pulled one at a time.
STREAMS = {'/count': count}
END = object()  # the end of a stream's items
CODES = {422: 'PLUGWIRE_VALIDATION', 500: 'PLUGWIRE_REMOTE', 504: 'PLUGWIRE_TIMEOUT'}  # for an error frame

RFC3339 = re.compile(r'(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})')


def deadline_of(envelope):
    """Context.Deadline as epoch seconds, or None when the caller set none."""
    text = (envelope.get('Context') or {}).get('Deadline')
    if text is None:
        return None
    match = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise Invalid(f'Context.Deadline is not an RFC 3339 time: {json.dumps(text)}')
    day, clock, fraction, zone = match.groups()
    seconds = calendar.timegm(time.strptime(f'{day}T{clock}', '%Y-%m-%dT%H:%M:%S'))
    offset = 0 if zone in ('Z', 'z') else (1 if zone[0] == '+' else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds - offset + float(f'0{fraction or ""}')


def decode(body):
    """The envelope and its deadline; raises Invalid (422) for a body that is not one."""
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise Invalid(str(error))
    if not isinstance(envelope, dict):
        raise Invalid('the body must be a JSON object')
    return envelope, deadline_of(envelope)


def call(route, body):
    """The status and the JSON value of the answer: the result, or an error message."""
    method = METHODS.get(route)
    if method is None:
        return 404, f'method not found: {route}'
    try:
        envelope, deadline = decode(body)
    except Invalid as error:
        return 422, str(error)
    outcome = {}

    def run():
        try:
            outcome['value'] = 200, method(envelope.get('Payload'))
        except Invalid as error:
            outcome['value'] = 422, str(error)
        except Exception as error:
            outcome['value'] = 500, str(error)

    # The answer is due at the deadline, whether the method has finished or not.
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(None if deadline is None else max(0.0, deadline - time.time()))
    return outcome.get('value', (504, 'context deadline exceeded'))


def pull(items, deadline):
    """The next step of a stream: (200, item), (200, END) at its end, or (status, message)."""
    if deadline is not None and time.time() >= deadline:
        return 504, 'context deadline exceeded'
    try:
        return 200, next(items)
    except StopIteration:
        return 200, END
    except Invalid as error:
        return 422, str(error)
    except Exception as error:
        return 500, str(error)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive: the host reuses its connections

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        route = self.path.split('?')[0]  # the raw path is the route
        if route in STREAMS:
            self.stream(route, body)
        else:
            self.answer(*call(route, body))

    def answer(self, status, value):
        data = (json.dumps(value) + '\n').encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, route, body):
        """A stream method's call: frames to a caller that asks for them, else one JSON array."""
        try:
            envelope, deadline = decode(body)
        except Invalid as error:
            return self.answer(422, str(error))
        items = STREAMS[route](envelope.get('Payload'))
        try:
            # The first item before anything is written: an error now is an ordinary error answer.
            status, item = pull(items, deadline)
            if status != 200:
                return self.answer(status, item)
            if self.headers.get('x-plugwire-stream') != '1':
                collected = []  # a version 1 caller (a Go host, curl): the whole stream as one array
                while item is not END:
                    collected.append(item)
                    status, item = pull(items, deadline)
                    if status != 200:
                        return self.answer(status, item)
                return self.answer(200, collected)
            self.send_response(200)
            self.send_header('Content-Type', 'application/x-ndjson; charset=utf-8')
            self.send_header('x-plugwire-stream', '1')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            while True:
                if status != 200:  # the closing error frame, after the items
                    frame = {'error': {'code': CODES[status], 'message': item}}
                elif item is END:
                    frame = {'end': True}
                else:
                    frame = {'item': item}
                data = (json.dumps(frame) + '\n').encode('utf-8')
                # A blocking write: a host that reads slowly holds the generator back.
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
                if 'item' not in frame:
                    break
                status, item = pull(items, deadline)
            self.wfile.write(b'0\r\n\r\n')  # the end of the chunked body; the connection serves the next call
        finally:
            items.close()  # a host that went away (a failed write) ends the generator too

    def log_message(self, *_):
        pass  # the stock one reads a TCP client address, which a Unix socket has not


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 64  # at least the host's connections (a plugwire host opens up to 32)

    def handle_error(self, request, client_address):
        # A host that stopped waiting (its timeout) closes the connection: no traceback for that.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    path = os.environ.get('PLUGIN_SOCKET')
    if not path:
        print('PLUGIN_SOCKET is not set', file=sys.stderr)
        sys.exit(1)
    os.umask(0o177)  # the socket file is 0600: for this user only
    try:
        server = Server(path, Handler)
    except OSError as error:
        print('failed to listen on socket', flush=True)
        print(f'cannot listen on {path}: {error}', file=sys.stderr)
        sys.exit(1)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print('plugin is ready', flush=True)  # a pipe is block-buffered: flush, or the host waits in vain
    try:
        server.serve_forever()
    finally:
        os.unlink(path)


if __name__ == '__main__':
    main()
