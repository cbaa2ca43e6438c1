/**
 * A minimal RTSP server for tests, offline and with nothing but ffmpeg: ffmpeg encodes ffmpeg's testsrc2 as MJPEG and
 * sends it as RTP (RFC 2435) over UDP to this process, which serves it to RTSP clients (OPTIONS, DESCRIBE, SETUP with
 * TCP interleaved transport, PLAY, GET_PARAMETER, TEARDOWN), relaying each RTP packet on the client's TCP connection
 * (`$`, channel 0, length). ffmpeg alone cannot serve RTSP to a puller (its `-rtsp_flags listen` is the receiving side
 * of a publish), hence this relay. `close()` drops every client (a network failure, as the reader sees it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RtspTestServer {
  url: string;
  port: number;
  /** RTSP requests received, e.g. ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY']. */
  requests: string[];
  /** Stops serving: closes the listening socket and every client connection; the RTP producer keeps running. */
  close(): Promise<void>;
  /** Stops everything (producer included). */
  dispose(): Promise<void>;
}

/** ffmpeg sends RTP for `source` (a lavfi graph) to a local UDP port; resolves with its SDP and the socket. */
async function startProducer(source: string, dir: string) {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const sdpFile = path.join(dir, 'stream.sdp');
  const proc = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', source]
      .concat([
        '-an',
        '-c:v',
        'mjpeg',
        '-pix_fmt',
        'yuvj420p',
        '-q:v',
        '5',
        '-huffman',
        'default',
        '-f',
        'rtp',
        '-sdp_file',
        sdpFile,
      ])
      .concat([`rtp://127.0.0.1:${port}?rtcpport=${port}`]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  for (let i = 0; i < 100 && !(fs.existsSync(sdpFile) && fs.statSync(sdpFile).size > 0); i++)
    await new Promise((r) => setTimeout(r, 50));
  if (!fs.existsSync(sdpFile)) {
    proc.kill('SIGKILL');
    udp.close();
    throw new Error(`ffmpeg wrote no SDP: ${stderr}`);
  }
  return { udp, proc, sdp: fs.readFileSync(sdpFile, 'utf8') };
}

/** The producer's SDP as served: any address, one control URL for the track. */
function describeSdp(sdp: string): string {
  const lines = sdp
    .split(/\r?\n/)
    .filter((l) => l && !l.startsWith('a=control'))
    .map((l) => (l.startsWith('c=') ? 'c=IN IP4 0.0.0.0' : l));
  const m = lines.findIndex((l) => l.startsWith('m=video'));
  lines.splice(m + 1, 0, 'a=control:trackID=0');
  return `${lines.join('\r\n')}\r\n`;
}

/** Starts the producer and serves on `port` (0: any free port). */
export async function startRtspServer(
  options: { source?: string; port?: number } = {},
): Promise<RtspTestServer & { restart(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-rtsp-'));
  const { udp, proc, sdp } = await startProducer(options.source ?? 'testsrc2=size=160x120:rate=10', dir);
  const body = describeSdp(sdp);
  const requests: string[] = [];
  const clients = new Set<net.Socket>();
  const playing = new Set<net.Socket>();
  udp.on('message', (packet) => {
    const header = Buffer.from([0x24, 0, packet.length >> 8, packet.length & 0xff]);
    for (const c of playing) c.write(Buffer.concat([header, packet]));
  });

  const handle = (socket: net.Socket) => {
    clients.add(socket);
    socket.on('close', () => {
      clients.delete(socket);
      playing.delete(socket);
    });
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end).split('\r\n');
        buffered = buffered.slice(end + 4);
        const [method, url] = head[0].split(' ');
        const cseq =
          head
            .find((h) => /^cseq:/i.test(h))
            ?.split(':')[1]
            .trim() ?? '0';
        requests.push(method);
        const reply = (extra: string[], content = '') =>
          socket.write(
            [
              `RTSP/1.0 200 OK`,
              `CSeq: ${cseq}`,
              ...extra,
              ...(content ? [`Content-Length: ${Buffer.byteLength(content)}`] : []),
            ]
              .concat(['', content])
              .join('\r\n'),
          );
        if (method === 'OPTIONS') reply(['Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN']);
        else if (method === 'DESCRIBE') reply(['Content-Type: application/sdp', `Content-Base: ${url}/`], body);
        else if (method === 'SETUP')
          reply(['Transport: RTP/AVP/TCP;unicast;interleaved=0-1', 'Session: 12345678;timeout=60']);
        else if (method === 'PLAY') {
          reply(['Session: 12345678', 'Range: npt=0.000-']);
          playing.add(socket);
        } else if (method === 'GET_PARAMETER') reply(['Session: 12345678']);
        else if (method === 'TEARDOWN') {
          reply(['Session: 12345678']);
          socket.end();
        } else socket.write(`RTSP/1.0 501 Not Implemented\r\nCSeq: ${cseq}\r\n\r\n`);
      }
    });
  };

  let server = net.createServer(handle);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  const port = await listen(options.port ?? 0);
  const close = async () => {
    for (const c of clients) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `rtsp://127.0.0.1:${port}/live`,
    port,
    requests,
    close,
    async restart() {
      server = net.createServer(handle);
      await listen(port);
    },
    async dispose() {
      if (server.listening) await close();
      await stopProcess(proc);
      udp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}
