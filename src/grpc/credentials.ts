import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js'

// Both ends of the transport in one place: TLS when certificates are given, plaintext otherwise.

export interface ServerTlsFiles {
  /** Server certificate chain and key (PEM); without both the server listens in plaintext. */
  cert?: string
  key?: string
  /** CA of client certificates: when set, clients must present one it signed (mutual TLS). */
  clientCa?: string
}

export async function serverCredentials ({ cert, key, clientCa }: ServerTlsFiles): Promise<ServerCredentials> {
  if (!cert || !key) return ServerCredentials.createInsecure()
  const [certChain, privateKey, ca] = await Promise.all([
    readFile(cert), readFile(key), clientCa ? readFile(clientCa) : Promise.resolve(null)
  ])
  return ServerCredentials.createSsl(ca, [{ cert_chain: certChain, private_key: privateKey }], ca !== null)
}

export interface ClientTlsFiles {
  /** CA that signed the server certificate (absent: the system roots). */
  ca?: string
  /** Client certificate and key for mutual TLS; always given together. */
  cert?: string
  key?: string
}

/** TLS when a CA or a client certificate is given (a client certificate is never silently dropped), else plaintext. */
export function clientCredentials ({ ca, cert, key }: ClientTlsFiles): ChannelCredentials {
  if (!ca && !cert) return credentials.createInsecure()
  if (Boolean(cert) !== Boolean(key)) throw new Error('--cert and --key must be given together')
  const read = (file?: string) => (file ? readFileSync(file) : null)
  return credentials.createSsl(read(ca), read(key), read(cert))
}
