#!/usr/bin/env python3
"""The Modifier plugin of samples/modifier, written in Python with the standard library only.

A plugwire host (or a Go host of tilotech/go-plugin) starts it with PLUGIN_SOCKET set and
calls it with HTTP/1.1 POST requests on that Unix socket, as docs/PROTOCOL.md describes:

    connect(Modifier, spawnCommand('python3', ['samples/python-modifier/plugin.py']))

It serves the three routes of samples/modifier/contract.ts (/modify, /greet, /join) and
answers as the TypeScript plugin (samples/modifier/plugin.ts) does: the same results, and
the same statuses, error codes and validation messages (only the wording of a JSON syntax
error or of an exception's message is Python's). It also serves a stream method, /decorate,
that answers with a stream of items (docs/PROTOCOL.md, "Streamed results"). When its host
offers host services (PLUGWIRE_HOST_SOCKET is set), /modify calls two of them, /kv/get and
/log (the contract is samples/python-modifier/host-api.ts; docs/PROTOCOL.md, "Host
services"). Python 3.8 or later, nothing to install.
"""
import errno
import hmac
import http.client
import json
import math
import os
import re
import select
import selectors
import signal
import socket
import socketserver
import stat
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

MAX_BODY = 16 * 1024 * 1024  # larger request bodies get 413
GRACE = 5.0  # seconds in-flight calls get to finish after SIGTERM
LINGER_IDLE, LINGER_MAX = 1.0, 5.0  # the bounded lingering close after a 413 (see PROTOCOL.md)
JSON_TYPE = 'application/json; charset=utf-8'
MAX_COLLECTED = 16 * 1024 * 1024  # a stream's items as one JSON array (a Go host) at most
STREAM_HEADER, STREAM_VERSION = 'x-plugwire-stream', '1'  # a plugwire host that reads frames
STREAM_TYPE = 'application/x-ndjson; charset=utf-8'
MANIFEST_ROUTE = '/.plugwire/manifest'


class Missing:
    """A value that is not there at all: JavaScript's `undefined`, as opposed to JSON's null (None)."""

    def __repr__(self):
        return 'undefined'


MISSING = Missing()


# --------------------------------------------------------------------------------------
# Errors: every failed call ends as a CallError, answered with its status and a JSON string.
# --------------------------------------------------------------------------------------

class CallError(Exception):
    """A failed call: the HTTP status and plugwire's structured error (lib/protocol/wire-error.ts)."""

    def __init__(self, status, code, message, violations=None, remote=None, headers=(), close=False):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.violations, self.remote = violations, remote
        self.headers = list(headers)
        self.close = close  # close the connection after the answer (the rest of the request was not read)

    def wire(self):
        """The structured error a plugwire host gets: {code, message, violations?, remote?}."""
        error = {'code': self.code, 'message': self.message}
        if self.violations is not None:
            error['violations'] = self.violations
        if self.remote is not None:
            error['remote'] = self.remote
        return error


def invalid(message, violations=None):
    return CallError(422, 'PLUGWIRE_VALIDATION', message, violations)


def timed_out():
    return CallError(504, 'PLUGWIRE_TIMEOUT', 'context deadline exceeded')  # Go's message


def remote_error(error):
    """What a method raised, as PLUGWIRE_REMOTE: its class name, message, and `code`/`details` if it has them."""
    remote = {'name': type(error).__name__, 'message': str(error)}
    code = getattr(error, 'code', None)
    if isinstance(code, (str, int)) and not isinstance(code, bool):
        remote['code'] = code
    details = getattr(error, 'details', None)
    if details is not None:
        try:
            remote['details'] = json.loads(json.dumps(details))
        except (TypeError, ValueError):
            pass  # details that do not survive JSON are left out
    return CallError(500, 'PLUGWIRE_REMOTE', remote['message'], remote=remote)


# --------------------------------------------------------------------------------------
# A little JavaScript: the TypeScript plugin's answers come from JavaScript's string
# conversions (`${value}`, Array.join, String.length), so these make ours the same.
# --------------------------------------------------------------------------------------

def js_string(value):
    """JavaScript's String(value) for a JSON value."""
    if value is MISSING:
        return 'undefined'
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))  # 2.0 -> '2'; other floats are written as Python writes them
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return js_join(value, ',')
    return '[object Object]'


def js_join(values, separator):
    """JavaScript's Array.prototype.join: null and undefined items become ''."""
    return separator.join('' if v is None or v is MISSING else js_string(v) for v in values)


def js_length(text):
    """JavaScript's String.length: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode('utf-16-le', 'surrogatepass')) // 2


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # True is an int in Python


def is_finite(value):
    return is_number(value) and (isinstance(value, int) or math.isfinite(value))  # a Python int has no Infinity


# --------------------------------------------------------------------------------------
# Validation: the same checks and messages as plugwire (lib/conversion/converter.ts) and
# class-validator give for the contract's parameter types and the Person DTO.
# --------------------------------------------------------------------------------------

def describe(value):
    if value is None:
        return 'null'
    if isinstance(value, list):
        return 'an array'
    if isinstance(value, dict):
        return 'an object'
    if isinstance(value, bool):
        return 'a boolean'
    return 'a string' if isinstance(value, str) else 'a number'


def violation(path, value, constraints):
    """One failed field: {path, value?, constraints}. The value is shown only when small and simple."""
    entry = {'path': path}
    if value is None or isinstance(value, bool) or is_finite(value):
        entry['value'] = value
    elif is_number(value):
        entry['value'] = None  # JSON has no Infinity: JavaScript writes null
    elif isinstance(value, str):
        entry['value'] = value if len(value) <= 200 else value[:200] + '\u2026'
    entry['constraints'] = constraints
    return entry


EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}",
    re.ASCII,
)  # close to class-validator's @IsEmail() for ordinary addresses


def check_text(found, obj, key, path, low, high):
    """@IsString() @Length(low, high) on obj[key], with class-validator's messages."""
    value = obj.get(key, MISSING)
    constraints = {}
    # class-validator counts an emoji as 1 character (and ignores variation selectors).
    ok_length = isinstance(value, str) and low <= len(value) - value.count('\ufe0e') - value.count('\ufe0f') <= high
    if not ok_length:
        length = js_length(value) if isinstance(value, str) else len(value) if isinstance(value, list) else None
        falsy = value is MISSING or (not isinstance(value, (list, dict)) and not value)
        if falsy or (length is not None and length < low):
            message = f'{key} must be longer than or equal to {low} characters'
        elif length is not None and length > high:
            message = f'{key} must be shorter than or equal to {high} characters'
        else:
            message = f'{key} must be longer than or equal to {low} and shorter than or equal to {high} characters'
        constraints['isLength'] = message
    if not isinstance(value, str):
        constraints['isString'] = f'{key} must be a string'
    if constraints:
        found.append(violation(path, value, constraints))


def check_address(found, value, path, key):
    """@ValidateNested() Address: an object whose city is @IsString() @Length(1, 100)."""
    if isinstance(value, dict):
        check_text(found, value, 'city', path + '.city', 1, 100)
    else:
        found.append(violation(path, value, {'nestedValidation': f'nested property {key} must be either object or array'}))


def check_person(person):
    """The class-validator rules of Person in samples/modifier/contract.ts."""
    found = []
    # One Address is declared: plugwire refuses an array there, before class-validator's rules
    # (which would check each item), and reports it first.
    if isinstance(person.get('address'), list):
        found.append(violation('address', person['address'], {'isObject': 'expected an object for Address, got an array'}))
    check_text(found, person, 'name', 'name', 1, 50)  # @IsString() @Length(1, 50)

    age = person.get('age', MISSING)  # @IsInt() @Min(0) @Max(150)
    constraints = {}
    if not (is_number(age) and age <= 150):
        constraints['max'] = 'age must not be greater than 150'
    if not (is_number(age) and age >= 0):
        constraints['min'] = 'age must not be less than 0'
    if not (is_number(age) and (isinstance(age, int) or age.is_integer())):
        constraints['isInt'] = 'age must be an integer number'
    if constraints:
        found.append(violation('age', age, constraints))

    email = person.get('email')  # @IsOptional() @IsEmail(): null and absent pass
    if email is not None and not (isinstance(email, str) and EMAIL.fullmatch(email)):
        found.append(violation('email', email, {'isEmail': 'email must be an email'}))

    address = person.get('address')  # @IsOptional() @ValidateNested() @Type(() => Address)
    if address is not None and not isinstance(address, list):
        check_address(found, address, 'address', 'address')
    return found


def check_args(route, kinds, args):
    """Checks each argument against its parameter type; null and absent values pass, as in plugwire."""
    found = []
    for index, (kind, value) in enumerate(zip(kinds, args)):
        path = '(payload)' if len(kinds) == 1 else f'[{index}]'
        if value is None or value is MISSING:
            continue
        if kind == 'string' and not isinstance(value, str):
            found.append(violation(path, value, {'isString': f'expected a string, got {describe(value)}'}))
        elif kind == 'number' and not is_finite(value):
            found.append(violation(path, value, {'isNumber': f'expected a finite number, got {describe(value)}'}))
        elif kind == 'array' and not isinstance(value, list):
            found.append(violation(path, value, {'isArray': f'expected an array, got {describe(value)}'}))
        elif kind == 'Person':
            if isinstance(value, dict):
                found.extend(check_person(value))
            else:
                found.append(violation(path, value, {'isObject': f'expected an object for Person, got {describe(value)}'}))
    if found:
        listed = '; '.join(f"{v['path']}: {', '.join(v['constraints'].values())}" for v in found)
        raise invalid(f'invalid payload for {route}: {listed}', found)


# --------------------------------------------------------------------------------------
# Host services: calls from this plugin to the host that started it (docs/PROTOCOL.md,
# "Host services"). The host names a Unix socket and a token in the environment; a call is
# the same HTTP/1.1 POST with the same envelope as the host's calls to this plugin.
# --------------------------------------------------------------------------------------

HOST_TIMEOUT = 30.0  # seconds: a call to the host outside a served call (a plugwire host's default timeout)
CURRENT = threading.local()  # the call this thread serves: its deadline bounds the calls it makes to the host


class HostError(Exception):
    """A call to the host that failed: `code` is plugwire's error code, `details` the host's
    structured error. Raised out of a method, it reaches the caller as PLUGWIRE_REMOTE whose
    remote error has that code (as an uncaught error of hostProxy() does in TypeScript)."""

    def __init__(self, code, message, details=None):
        super().__init__(message)
        self.code, self.details = code, details


class UnixConnection(http.client.HTTPConnection):
    """http.client over a Unix socket: only connect() differs."""

    def __init__(self, path, timeout):
        super().__init__('host', timeout=timeout)  # the host name means nothing on a Unix socket
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def rfc3339(epoch):
    """Epoch seconds as the RFC 3339 time of an envelope's Deadline, in UTC with milliseconds."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


class Host:
    """The host services this process may call: the socket and token its host named."""

    def __init__(self, path, token, contract):
        self.path, self.token, self.contract = path, token, contract

    @staticmethod
    def from_environment(contract):
        """The host's services, or None when it offers none (no services, a Go host, run by hand).
        The variables are removed, so that this plugin's children do not inherit the token."""
        path = os.environ.pop('PLUGWIRE_HOST_SOCKET', '')
        token = os.environ.pop('PLUGWIRE_HOST_TOKEN', '')
        return Host(path, token, contract) if path else None

    def call(self, route, payload):
        """Calls a host service and returns its result (JSON), or raises a HostError. Inside a
        served call it inherits that call's deadline; elsewhere it waits HOST_TIMEOUT at most."""
        deadline = getattr(CURRENT, 'deadline', None) or time.time() + HOST_TIMEOUT
        left = deadline - time.time()
        if left <= 0:
            raise HostError('PLUGWIRE_TIMEOUT', f'call to {route} of the host: the deadline of the call being served has passed')
        body = json.dumps({'Context': {'Deadline': rfc3339(deadline)}, 'Payload': payload}, allow_nan=False).encode('utf-8')
        headers = {
            'Content-Type': 'application/json',
            'Authorization': f'Bearer {self.token}',
            'x-plugwire-version': '1',  # structured errors, as the host's own calls to this plugin get
            'x-plugwire-caller-pid': str(os.getpid()),  # callContext().caller.pid in the service method
        }
        # A connection per call: simple, and a Unix socket connects in microseconds. A plugin
        # that calls its host often would keep one per thread (the host never closes idle ones).
        connection = UnixConnection(self.path, left)
        try:
            connection.request('POST', route, body, headers)
            response = connection.getresponse()
            status, text, structured = response.status, response.read(), response.getheader('x-plugwire-error') == '1'
        except socket.timeout:
            raise HostError('PLUGWIRE_TIMEOUT', 'context deadline exceeded')
        except (OSError, http.client.HTTPException) as error:  # no socket, refused, or cut off: the host is gone or closing
            raise HostError('PLUGWIRE_UNAVAILABLE', f'the host services on {self.path} cannot be reached: {error}')
        finally:
            connection.close()
        if status == 200:
            return json.loads(text)
        raise self.error(route, status, text, structured)

    def error(self, route, status, text, structured):
        """The HostError of an error answer: a JSON string, holding a JSON object when structured."""
        try:
            message = json.loads(text)
            details = json.loads(message) if structured else None
        except ValueError:
            return HostError('PLUGWIRE_PROTOCOL', f'the host answered {route} with status {status} and a body that is not a JSON string')
        if not (isinstance(details, dict) and isinstance(details.get('code'), str)):
            details = {'code': 'PLUGWIRE_REMOTE', 'message': str(message)}
        if details['code'] == 'PLUGWIRE_METHOD_NOT_FOUND':  # a route it does not serve: a contract it does not offer
            return HostError('PLUGWIRE_CONTRACT', f'the host does not offer {route} of {self.contract}: pass an implementation of it '
                             'in the services of connect()', details)
        return HostError(details['code'], str(details.get('message', message)), details)


# The host's services (samples/python-modifier/host-api.ts), or None: read once, at start.
HOST = None


# --------------------------------------------------------------------------------------
# The plugin's methods: samples/modifier/plugin.ts in Python.
# --------------------------------------------------------------------------------------

def decorated(value):
    return f'{js_string(value)} decorated'


def modify(value):
    if HOST is None:
        return decorated(value)
    # With host services: the suffix is the host's to choose, and the host logs each call.
    suffix = HOST.call('/kv/get', 'suffix')
    text = f'{js_string(value)} {suffix}' if isinstance(suffix, str) else decorated(value)
    HOST.call('/log', f'modify: {text}')
    return text


def greet(person):
    text = f"hello {js_string(person['name'])}"
    address = person.get('address')
    if address is not None:
        city = address.get('city', MISSING) if isinstance(address, dict) else MISSING
        text += f' from {js_string(city)}'
    return {'text': text, 'length': js_length(text)}  # a Greeting


def join(values, separator, times):
    separator = ',' if separator is MISSING else js_string(separator)  # join() without one uses ','
    count = max(0, math.floor(times)) if is_number(times) else 0  # Array.from({ length: times })
    if count == 0:
        return ''
    if count > 2 ** 32 - 1:
        raise ValueError('Invalid array length')  # JavaScript's RangeError
    if not isinstance(values, list):
        raise TypeError(f"Cannot read properties of {js_string(values)} (reading 'join')")
    return js_join([js_join(values, separator)] * count, separator)


class StreamContext:
    """What a stream method waits with: the caller's deadline, and its connection, which
    tells when the caller went away (the Python side of callContext().signal)."""

    def __init__(self, connection, deadline):
        self.connection, self.deadline = connection, deadline
        self.cancelled = False  # the caller went away, or the deadline passed

    def expired(self):
        return self.deadline is not None and self.deadline <= time.time()

    def gone(self):
        """Whether the caller closed its end: readable with nothing to read is its end of file."""
        try:
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b''
        except BlockingIOError:
            return False
        except OSError:
            return True

    def wait(self, seconds):
        """Sleeps up to `seconds`; False at once when the stream should end instead."""
        until = time.monotonic() + seconds
        while not self.cancelled:
            left = until - time.monotonic()
            if self.deadline is not None:
                left = min(left, self.deadline - time.time())
            if self.expired():
                self.cancelled = True
            elif left <= 0:
                return True
            elif select.select([self.connection], [], [], min(left, 0.05))[0] and self.gone():
                self.cancelled = True  # the host broke its loop, aborted, or died
        return False


def decorate(context, values, every_ms):
    """The stream method: each of `values` decorated as /modify does, one item each, with
    `every_ms` milliseconds between them. A value that is not a string ends the stream with
    an error after the items before it (or, as the first, with an ordinary error answer)."""
    pause = every_ms / 1000 if is_finite(every_ms) and every_ms > 0 else 0
    sent = 0
    try:
        for index, value in enumerate(values if isinstance(values, list) else []):
            if index > 0 and pause and not context.wait(pause):
                return
            if not isinstance(value, str):
                raise TypeError(f'item {index} is not a string: {js_string(value)}')
            yield decorated(value)  # no host calls here: an item per call to the host would be slow
            sent += 1
    finally:
        # What a generator's finally is for: cleaning up when the caller stops reading.
        if context.cancelled:
            print(f'decorate: stopped after {sent} items', file=sys.stderr, flush=True)


# route -> (parameter types, method). One parameter travels as the payload itself,
# several as a JSON array.
METHODS = {
    '/modify': (['string'], modify),
    '/greet': (['Person'], greet),
    '/join': (['array', 'string', 'number'], join),
}

# The stream methods: route -> (parameter types, generator function taking a StreamContext first).
STREAMS = {
    '/decorate': (['array', 'number'], decorate),
}

# What `plugwire inspect` shows; connect() checks the routes against the contract.
MANIFEST = {
    'manifest': 1,
    'protocol': 1,
    'extensions': '1',
    'plugin': {'name': 'modifier', 'version': '1.0.0-python'},
    'methods': [
        {'route': '/modify', 'name': 'modify', 'contract': 'modifier', 'idempotent': True, 'validated': True, 'implemented': True,
         'params': [{'type': 'string', 'schema': {'type': 'string'}}],
         'result': {'type': 'unknown', 'schema': {}}},
        {'route': '/greet', 'name': 'greet', 'contract': 'modifier', 'idempotent': True, 'validated': True, 'implemented': True,
         'params': [{'type': 'Person', 'schema': {'$ref': '#/definitions/Person'}}],
         'result': {'type': 'Greeting', 'schema': {'$ref': '#/definitions/Greeting'}}},
        {'route': '/join', 'name': 'join', 'contract': 'modifier', 'idempotent': True, 'validated': True, 'implemented': True,
         'params': [{'type': 'array', 'schema': {'type': 'array'}},
                    {'type': 'string', 'schema': {'type': 'string'}},
                    {'type': 'number', 'schema': {'type': 'number'}}],
         'result': {'type': 'unknown', 'schema': {}}},
        # A stream method: `stream: true`, and its result describes one item.
        {'route': '/decorate', 'name': 'decorate', 'contract': 'modifier', 'idempotent': True, 'validated': True, 'implemented': True,
         'stream': True,
         'params': [{'type': 'array', 'schema': {'type': 'array'}},
                    {'type': 'number', 'schema': {'type': 'number'}}],
         'result': {'type': 'string', 'schema': {'type': 'string'}}},
    ],
    'definitions': {
        'Person': {
            'properties': {
                'name': {'minLength': 1, 'maxLength': 50, 'type': 'string'},
                'age': {'maximum': 150, 'type': 'integer', 'minimum': 0},
                'email': {'format': 'email', 'type': 'string'},
                'address': {'$ref': '#/definitions/Address'},
            },
            'type': 'object',
            'required': ['name', 'age'],
        },
        'Address': {
            'properties': {'city': {'minLength': 1, 'maxLength': 100, 'type': 'string'}},
            'type': 'object',
            'required': ['city'],
        },
        'Greeting': {
            'properties': {'text': {'type': 'string'}, 'length': {'type': 'integer'}},
            'type': 'object',
            'required': ['text', 'length'],
        },
    },
}


def without_schemas(manifest):
    """The manifest for `?schemas=false` (a host's contract check): no `schema` fields, no definitions."""
    def lean(value):
        return {'type': value['type']}
    methods = [dict(m, params=[lean(p) for p in m['params']], result=lean(m['result'])) for m in manifest['methods']]
    return dict(manifest, methods=methods, definitions={})


LEAN_MANIFEST = without_schemas(MANIFEST)


# --------------------------------------------------------------------------------------
# One call: the body {"Context":{"Deadline":...},"Payload":...} to the method's result.
# --------------------------------------------------------------------------------------

RFC3339 = re.compile(r'(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))', re.ASCII)


def parse_deadline(text):
    """An RFC 3339 time as Go writes it (up to 9 fraction digits, Z or +hh:mm) to epoch seconds, or None."""
    match = RFC3339.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:  # 31 June, hour 24 and the like
        return None
    if not zulu:
        if int(off_h) > 23 or int(off_m) > 59:
            return None
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        moment -= offset if sign == '+' else -offset
    return moment.timestamp() + (int(fraction[:9].ljust(9, '0')) / 1e9 if fraction else 0)


def pick(obj, key):
    """obj[key], with the key matched case-insensitively as Go does ('payload' for 'Payload')."""
    if key in obj:
        return obj[key]
    for name, value in obj.items():
        if name.lower() == key.lower():
            return value
    return MISSING


def reject_constant(name):
    raise ValueError(f'{name} is not JSON')  # Python's json accepts NaN and Infinity; JSON does not


def arguments(route, kinds, body):
    """Decodes the envelope and checks the deadline and the arguments: (args, deadline)."""
    try:
        envelope = json.loads(body.decode('utf-8', 'replace'), parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        raise CallError(400, 'PLUGWIRE_PROTOCOL', f'request body is not valid JSON: {error}')
    if not isinstance(envelope, dict):
        raise invalid('request body must be a JSON object with Context and Payload')
    context, payload = pick(envelope, 'Context'), pick(envelope, 'Payload')

    deadline = None  # a missing Context, or a null Deadline: no deadline
    if context is not None and context is not MISSING:
        if not isinstance(context, dict):
            raise invalid('Context must be an object')
        raw = pick(context, 'Deadline')
        if raw is not None and raw is not MISSING:
            deadline = parse_deadline(raw) if isinstance(raw, str) else None
            if deadline is None:
                kind = 'an array' if isinstance(raw, list) else 'object' if isinstance(raw, dict) else \
                    'boolean' if isinstance(raw, bool) else 'number'  # JavaScript's typeof
                given = json.dumps(raw[:80]) if isinstance(raw, str) else f'got {kind}'
                raise invalid(f'Context.Deadline is not an RFC 3339 time: {given}')

    if len(kinds) == 1:
        args = [payload]
    elif isinstance(payload, list):
        if len(payload) > len(kinds):
            raise invalid(f'{route} takes {len(kinds)} parameters, got an array of {len(payload)}')
        args = payload + [MISSING] * (len(kinds) - len(payload))
    elif payload is None or payload is MISSING:
        args = [MISSING] * len(kinds)
    else:
        raise invalid(f'{route} takes {len(kinds)} parameters: the payload must be a JSON array')

    if deadline is not None and deadline <= time.time():
        raise timed_out()
    check_args(route, kinds, args)
    return args, deadline


def call(route, body):
    """Runs a method with the arguments of the request body."""
    kinds, method = METHODS[route]
    args, deadline = arguments(route, kinds, body)
    CURRENT.deadline = deadline  # the calls the method makes to the host inherit it
    try:
        result = method(*args)
    except Exception as error:  # whatever the method raised is the plugin's error
        if deadline is not None and deadline <= time.time():
            raise timed_out()  # a call to the host that ran into the deadline: the answer is the 504
        raise remote_error(error)
    finally:
        CURRENT.deadline = None
    # The caller stops waiting at its deadline. These methods are quick; a slow one would
    # need a timer that answers 504 at the deadline while the method still runs.
    if deadline is not None and deadline <= time.time():
        raise timed_out()
    return result


def encode(value):
    """JSON as UTF-8 with Go's trailing newline. A lone surrogate a caller sent comes back as its \\u escape."""
    return (json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')) + '\n').encode('utf-8', 'backslashreplace')


DONE = object()  # the end of a stream method's items
ANSWERED = object()  # a stream call has written its answer itself


def encode_item(value):
    """One item of a stream as JSON (no newline); an item JSON cannot carry is the method's error."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode('utf-8', 'backslashreplace')
    except (TypeError, ValueError) as error:
        raise remote_error(TypeError(f'an item cannot be encoded as JSON: {error}'))


# --------------------------------------------------------------------------------------
# HTTP/1.1 on the Unix socket.
# --------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive, so it serves the host's requests one after another."""

    protocol_version = 'HTTP/1.1'  # keep-alive, and a Content-Length on every answer
    token = None  # b'Bearer <token>' when the host gave the plugin one

    def __getattr__(self, name):
        # http.server calls do_<METHOD>: every method ends up in dispatch(), which answers 405 to all but POST.
        if name.startswith('do_'):
            return self.dispatch
        raise AttributeError(name)

    def dispatch(self):
        self.body = None  # not read yet
        try:
            result = self.answer()
        except CallError as error:
            return self.send_failure(error)
        except ConnectionError:
            raise  # the caller is gone: nobody to answer
        except Exception as error:  # a bug in this plugin: still an answer, never a dropped connection
            return self.send_failure(remote_error(error))
        if result is not ANSWERED:
            self.send_json(200, result)

    def send_failure(self, error):
        """An error answer: a JSON string with the message, or with the structured error for a plugwire host."""
        if self.body is None and not error.close:
            # Answered before the body was read (401, 404, 405): read it first, so that
            # the connection can serve the next request.
            try:
                self.read_body()
            except CallError:
                error.close = True
        structured = 'x-plugwire-version' in self.headers  # sent by a plugwire host, never by a Go host
        text = json.dumps(error.wire(), separators=(',', ':')) if structured else error.message
        headers = error.headers + ([('x-plugwire-error', '1')] if structured else [])
        if error.close:
            headers.append(('Connection', 'close'))
        self.send_json(error.status, text, headers)
        if error.close:
            self.linger()

    def answer(self):
        """The result of the request, or a CallError."""
        expect = self.headers.get('Expect')
        if expect and expect.lower() != '100-continue':
            raise CallError(417, 'PLUGWIRE_PROTOCOL', f'expectation not supported: {expect}')
        if self.token is not None:  # before anything else: the route is nobody else's business
            given = (self.headers.get('Authorization') or '').encode('latin-1')
            if not hmac.compare_digest(given, self.token):  # constant time
                raise CallError(401, 'PLUGWIRE_PROTOCOL', 'unauthorized: this plugin answers only the host that started it',
                                headers=[('WWW-Authenticate', 'Bearer')])
        route = self.path.split('?')[0].split('#')[0] if self.path.startswith('/') else urlsplit(self.path).path
        if route == MANIFEST_ROUTE and self.command in ('GET', 'POST'):
            self.read_body()
            return LEAN_MANIFEST if re.search('[?&]schemas=false(&|$)', self.path) else MANIFEST
        if self.command != 'POST':
            raise CallError(405, 'PLUGWIRE_PROTOCOL', f'method {self.command} not allowed: calls are POST requests',
                            headers=[('Allow', 'POST')])
        if route in STREAMS:
            return self.stream(route, self.read_body())
        if route not in METHODS:
            raise CallError(404, 'PLUGWIRE_METHOD_NOT_FOUND', f'method not found: {route}')
        return call(route, self.read_body())

    def stream(self, route, body):
        """A stream method's call: its items as frames to a plugwire host that asks for them
        with x-plugwire-stream: 1, else (a Go host, curl) all of them as one JSON array."""
        kinds, method = STREAMS[route]
        args, deadline = arguments(route, kinds, body)
        context = StreamContext(self.connection, deadline)
        items = method(context, *args)
        # The first item before anything is written: an error now is an ordinary error answer.
        first = self.next_item(items, context)
        if self.headers.get(STREAM_HEADER) != STREAM_VERSION:
            return self.collect(route, items, first, context)
        self.send_response(200)
        self.send_header('Content-Type', STREAM_TYPE)
        self.send_header(STREAM_HEADER, STREAM_VERSION)
        self.send_header('Transfer-Encoding', 'chunked')
        if self.server.closing:
            self.send_header('Connection', 'close')
        self.end_headers()
        try:
            item = first
            while item is not DONE:
                # A blocking write: while the host does not read, the socket's buffers fill and
                # this waits, so the generator is pulled no faster than the host takes items.
                self.write_chunk(b'{"item":' + encode_item(item) + b'}\n')
                item = self.next_item(items, context)
            self.write_chunk(b'{"end":true}\n')
        except CallError as error:  # after items: the closing error frame, with the same code
            self.write_chunk(b'{"error":' + json.dumps(error.wire(), separators=(',', ':')).encode('utf-8') + b'}\n')
        except ConnectionError:  # the host went away while an item was written
            context.cancelled = True
            items.close()  # the generator's finally runs
            raise
        self.wfile.write(b'0\r\n\r\n')  # the end of the chunked body: the connection serves the next call
        return ANSWERED

    def next_item(self, items, context):
        """The next item, DONE at the end; the method's error, or the deadline's, as a CallError."""
        try:
            item = next(items)
        except StopIteration:
            item = DONE
        except Exception as error:  # whatever the generator raised is the plugin's error
            raise remote_error(error)
        if context.expired():
            context.cancelled = True
            items.close()
            raise timed_out()
        if context.cancelled:  # the generator stopped because the host went away
            raise ConnectionAbortedError('the caller went away')
        return item

    def collect(self, route, items, first, context):
        """The whole stream as one JSON array, for a caller that does not read frames."""
        parts, size, item = [], 2, first
        while item is not DONE:
            part = encode_item(item)
            size += len(part) + 1
            if size > MAX_COLLECTED:
                context.cancelled = True
                items.close()
                raise CallError(500, 'PLUGWIRE_PROTOCOL', f'the stream of {route} is larger than maxCollectedSize ({MAX_COLLECTED} bytes) '
                                'as one JSON array: read it as a stream (x-plugwire-stream: 1)')
            parts.append(part)
            item = self.next_item(items, context)
        self.send_body(200, b'[' + b','.join(parts) + b']\n')
        return ANSWERED

    def write_chunk(self, data):
        self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))

    def read_body(self):
        """The request body (Content-Length or chunked), at most MAX_BODY bytes."""
        too_large = CallError(413, 'PLUGWIRE_PROTOCOL', f'request body larger than {MAX_BODY} bytes', close=True)
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024).split(b';')[0].strip()
                if not re.fullmatch(rb'[0-9A-Fa-f]+', line):
                    raise CallError(400, 'PLUGWIRE_PROTOCOL', 'bad request: malformed chunked body', close=True)
                length = int(line, 16)
                if length == 0:
                    break
                size += length
                if size > MAX_BODY:
                    raise too_large
                chunks.append(self.read_exactly(length))
                self.rfile.readline(3)  # the CRLF after the chunk
            while self.rfile.readline(65537).strip():
                pass  # trailers
            self.body = b''.join(chunks)
            return self.body
        declared = self.headers.get('Content-Length', '0').strip()
        if not re.fullmatch('[0-9]+', declared):
            raise CallError(400, 'PLUGWIRE_PROTOCOL', 'bad request: invalid Content-Length', close=True)
        if int(declared) > MAX_BODY:
            raise too_large
        self.body = self.read_exactly(int(declared))
        return self.body

    def read_exactly(self, size):
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionAbortedError('the client went away in the middle of its request')
        return data

    def linger(self):
        """After an answer given before the whole body arrived: read and discard what the client
        still sends (up to MAX_BODY, for at most LINGER_MAX s, until LINGER_IDLE s of silence),
        so that it reads the answer instead of a reset, then close."""
        self.close_connection = True
        self.connection.settimeout(LINGER_IDLE)
        until, left = time.monotonic() + LINGER_MAX, MAX_BODY
        try:
            while left > 0 and time.monotonic() < until:
                chunk = self.rfile.read1(65536)
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass  # silence (a timeout) or a reset: done either way

    def send_json(self, status, value, headers=()):
        self.send_body(status, encode(value), headers)

    def send_body(self, status, body, headers=()):
        """A JSON answer, already encoded, with its Content-Length."""
        self.send_response(status)
        self.send_header('Content-Type', JSON_TYPE)
        self.send_header('Content-Length', str(len(body)))
        for name, text in headers:
            self.send_header(name, text)
        if self.server.closing:
            self.send_header('Connection', 'close')  # shutting down: this is the last answer on it
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        # http.server's own answers (a broken request line, too many headers...): a JSON string
        # like every other answer, never its HTML page.
        self.close_connection = True
        self.request_version = 'HTTP/1.1'  # for a request line it could not read: answer with a status line
        try:
            phrase = HTTPStatus(code).phrase.lower()
        except ValueError:
            phrase = 'error'
        self.send_json(code, f'{phrase}: {message}' if message else phrase, [('Connection', 'close')])

    def version_string(self):
        return 'plugwire-python/1'  # the Server header

    def log_message(self, format, *args):
        pass  # no line per request: the host forwards the plugin's stderr

    # The bookkeeping that lets SIGTERM finish in-flight calls and close idle connections.
    def setup(self):
        super().setup()
        self.busy = False
        self.server.track(self, opened=True)

    def parse_request(self):
        self.busy = True  # a request line arrived: this connection is in the middle of a call
        self.server.track(self, busy=True)
        return super().parse_request()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        finally:
            if self.busy:
                self.busy = False
                if self.server.track(self, busy=False):  # shutting down: no further request on it
                    self.close_connection = True

    def finish(self):
        self.server.track(self, opened=False)
        super().finish()


class PluginServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """A thread per connection, so that concurrent calls run side by side."""

    daemon_threads = True  # shutdown waits for busy connections itself, with a grace period
    request_queue_size = 511  # as Node: a Unix socket refuses (EAGAIN) connections beyond the backlog

    def __init__(self, path):
        self.changes = threading.Condition()
        self.idle, self.busy, self.closing = set(), 0, False
        super().__init__(path, Handler)

    def track(self, handler, opened=None, busy=None):
        """Records a connection's state; returns whether the server is shutting down."""
        with self.changes:
            if opened is not None:
                (self.idle.add if opened else self.idle.discard)(handler)
            if busy is not None:
                self.busy += 1 if busy else -1
                (self.idle.discard if busy else self.idle.add)(handler)
                self.changes.notify_all()
            return self.closing

    def close_gracefully(self, grace):
        """Closes idle connections at once and gives busy ones `grace` seconds to finish."""
        with self.changes:
            self.closing = True
            for handler in self.idle:
                try:
                    handler.connection.shutdown(socket.SHUT_RDWR)  # its thread sees the end and stops
                except OSError:
                    pass
            self.changes.wait_for(lambda: self.busy == 0, timeout=grace)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a caller that went away is no error
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------
# Start-up and shutdown.
# --------------------------------------------------------------------------------------

def is_stale(path):
    """Whether path is a socket file that nobody listens on (left by a plugin that died)."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return False  # not ours to remove
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(path)
        return False  # someone answers
    except (ConnectionRefusedError, FileNotFoundError):
        return True


def listen(path):
    """Listens on path with mode 0600 from the first instant, replacing a stale socket file."""
    for attempt in (1, 2):
        previous = os.umask(0o177)  # the socket file's mode comes from the umask at bind time
        try:
            return PluginServer(path)
        except OSError as error:
            if attempt == 2 or error.errno != errno.EADDRINUSE or not is_stale(path):
                raise
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        finally:
            os.umask(previous)


def remove_orphaned_host_socket(path):
    """The socket of the host's services, which a host killed with SIGKILL left behind, and the
    private directory the host made for it alone (plugwire-XXXXXX), once empty."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except OSError:
        pass  # already gone
    if re.fullmatch('plugwire-[A-Za-z0-9]{6}', os.path.basename(os.path.dirname(path))):
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass  # not empty (this plugin's own socket is in it: removed below), or gone


def main():
    path = os.environ.get('PLUGIN_SOCKET')
    # The token and the lifeline are this process's alone: its children must not inherit them.
    token = os.environ.pop('PLUGWIRE_TOKEN', '')
    lifeline = os.environ.pop('PLUGWIRE_LIFELINE_FD', '')
    socket_dir = os.environ.pop('PLUGWIRE_SOCKET_DIR', '')
    global HOST
    HOST = Host.from_environment('host-api')
    host_gone = threading.Event()
    if token:
        Handler.token = f'Bearer {token}'.encode('latin-1')

    # Everything that ends the plugin writes a byte to this pipe; the main thread watches it.
    stop_read, stop_write = os.pipe()

    def stop(*_):
        os.write(stop_write, b'x')  # safe in a signal handler: no lock involved

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        if not path:
            raise OSError('PLUGIN_SOCKET is not set: a plugwire or Go host sets it')
        server = listen(path)
        inode = os.stat(path).st_ino
    except OSError as error:
        print('failed to listen on socket', flush=True)
        print(f'plugin.py: cannot listen on {path}: {error}', file=sys.stderr, flush=True)
        sys.exit(1)

    if re.fullmatch('[0-9]+', lifeline) and int(lifeline) > 2:
        # The host holds the other end of this pipe and never writes: end of file means it died.
        fd = int(lifeline)

        def watch():
            try:
                while os.read(fd, 4096):
                    pass
            except OSError:
                pass
            host_gone.set()
            stop()

        try:
            os.set_inheritable(fd, False)
            threading.Thread(target=watch, daemon=True).start()
        except OSError:
            pass  # not a descriptor of ours: nothing to watch

    print('plugin is ready', flush=True)

    # Accept connections (each is served by a thread of its own) until a byte arrives on the
    # stop pipe: SIGTERM, SIGINT or the host's death.
    with selectors.DefaultSelector() as selector:
        selector.register(server, selectors.EVENT_READ)
        selector.register(stop_read, selectors.EVENT_READ)
        while stop_read not in [key.fileobj for key, _ in selector.select()]:
            server.handle_request()
    server.server_close()  # stop accepting...
    server.close_gracefully(GRACE)  # ...and let the calls in flight finish
    try:
        if os.stat(path).st_ino == inode:  # only our own file: another plugin may have bound the path since
            os.unlink(path)
    except FileNotFoundError:
        pass
    if host_gone.is_set() and HOST is not None:
        remove_orphaned_host_socket(HOST.path)
    # The host died: nobody else removes the directory it made for the socket (if empty).
    if host_gone.is_set() and socket_dir and os.path.dirname(path) == socket_dir:
        try:
            os.rmdir(socket_dir)
        except OSError:
            pass
    sys.exit(0)


if __name__ == '__main__':
    main()
