// The host services samples/python-modifier/plugin.py calls when its host offers them
// (docs/PROTOCOL.md, "Host services"): the contract a host serves with
// connect(Modifier, ..., { services: [new HostApiImpl()] }). The Python plugin has no copy of
// it: it sends POST /kv/get and POST /log on the host's socket.
import { Method, Plugin, stub } from 'plugwire';

/** What a host offers the Python plugin: a log, and values the plugin may read. */
@Plugin('host-api')
export class HostApi {
  /** Writes a line of the plugin's to the host's log. */
  @Method('/log')
  log(line: string): Promise<void> {
    return stub(line);
  }

  /** The host's value for `key`, `null` when it has none. */
  @Method('/kv/get')
  get(key: string): Promise<string | null> {
    return stub(key);
  }
}
