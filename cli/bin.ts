/** Entry point of the `strata` binary (bundled to dist/cli.js by `npm run build`). */
import { main } from './main.js';

// `strata consume … | head` closes the pipe early: that is a normal end, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv);
