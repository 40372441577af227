/** The environment variable that carries the socket path to the plugin (version 1). */
export const SOCKET_ENV = 'PLUGIN_SOCKET';
/** The line a plugin prints once it listens (version 1). */
export const READY_LINE = 'plugin is ready';
/** The line a plugin prints when it cannot listen (version 1). */
export const FAILED_LINE = 'failed to listen on socket';

/**
 * The environment variable that names the file descriptor of the lifeline pipe a
 * plugwire host opens to its plugins: the plugin exits when it closes (the host died).
 * A version 1 plugin never reads it. @internal
 */
export const LIFELINE_ENV = 'PLUGWIRE_LIFELINE_FD';

/**
 * The environment variable that carries the access token a plugwire host gives the
 * plugin it starts. A plugin that was given one answers only requests that carry it in
 * `Authorization: Bearer <token>`. A Go host never sets it. @internal
 */
export const TOKEN_ENV = 'PLUGWIRE_TOKEN';

/**
 * The environment variable that names the private directory a plugwire host made for
 * the plugin's socket (`start()` without a socket path). A plugin whose host died (its
 * lifeline closed) removes it, once empty, after its socket file: a host killed with
 * SIGKILL cannot. A version 1 plugin never reads it. @internal
 */
export const SOCKET_DIR_ENV = 'PLUGWIRE_SOCKET_DIR';

/** Routes under this prefix are reserved for plugwire's own endpoints. @internal */
export const RESERVED_ROUTE_PREFIX = '/.plugwire';

/** The reserved route where a plugwire plugin describes itself. A version 1 host never calls it. */
export const MANIFEST_ROUTE = `${RESERVED_ROUTE_PREFIX}/manifest`;

/**
 * The reserved route where a plugwire plugin shows that it is alive: the server answers
 * it itself (200, a small JSON body) without running user code, so a plugin whose event
 * loop is stuck does not answer it. A version 1 plugin answers 404. @internal
 */
export const HEALTH_ROUTE = `${RESERVED_ROUTE_PREFIX}/health`;

/**
 * Request header by which a plugwire host announces itself. A plugin answers a request
 * that carries it with structured errors; a Go host never sends it. @internal
 */
export const VERSION_HEADER = 'x-plugwire-version';
/** The extension version this library speaks. @internal */
export const EXTENSION_VERSION = '1';
/**
 * Response header on an error answer whose JSON string holds a structured error
 * (itself JSON). Only sent to a request that carried {@link VERSION_HEADER}. @internal
 */
export const ERROR_HEADER = 'x-plugwire-error';

/** The longest timeout in ms a host accepts: the longest delay a Node.js timer takes. @internal */
export const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * The environment variable that carries the path of the socket on which a plugwire host
 * serves its host services (`connect(..., { services })`) to the plugin it starts. Unset
 * when the host offers none; a Go host never sets it.
 */
export const HOST_SOCKET_ENV = 'PLUGWIRE_HOST_SOCKET';

/**
 * The environment variable that carries the access token of the host services: the
 * plugin sends it as `Authorization: Bearer <token>` on every call to its host. It is not
 * the token the plugin itself expects (`PLUGWIRE_TOKEN`).
 */
export const HOST_TOKEN_ENV = 'PLUGWIRE_HOST_TOKEN';

/**
 * Request header by which a plugin calling its host's services names its process id; the
 * host's service methods read it as `callContext().caller.pid`. @internal
 */
export const CALLER_PID_HEADER = 'x-plugwire-caller-pid';

/**
 * Request header by which a host marks a call it makes to a plugin from a host service
 * method serving that plugin's call (a call back). While the plugin serves such a call,
 * its own calls to the host do not wait for one of its client's connections, which the
 * calls that wait on the service may all hold. @internal
 */
export const REENTRANT_HEADER = 'x-plugwire-reentrant';

/**
 * The environment variable that names a file holding the access token (a mounted
 * Kubernetes Secret, say), on both sides: a plugin that was not given `PLUGWIRE_TOKEN`
 * reads its token from the file, and a host attached to a plugin it did not start
 * (`attachToSocket()`) sends the file's token. Surrounding whitespace (the newline an
 * editor or `kubectl create secret --from-file` leaves) is not part of the token. A Go
 * peer never reads it.
 */
export const TOKEN_FILE_ENV = 'PLUGWIRE_TOKEN_FILE';
