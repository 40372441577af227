/** Where plugin output and client notices go. `console` fits, and so does a NestJS `Logger`. */
export interface PluginLogger {
  /**
   * Ordinary output: the plugin's standard output, restarts.
   * @param message - one line, prefixed with the plugin's name
   */
  log(message: string): void;
  /**
   * Problems: the plugin's standard error, exits, failed restarts.
   * @param message - one line, prefixed with the plugin's name
   */
  error(message: string): void;
}
