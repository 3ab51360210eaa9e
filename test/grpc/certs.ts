import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCerts {
  dir: string, ca: string, serverCert: string, serverKey: string, clientCert: string, clientKey: string
}

// A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl into
// `dir` (a temp dir the test removes). EC keys keep it fast.
export async function makeCerts (dir: string): Promise<TestCerts> {
  const p = (name: string) => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '1', '-subj', '/CN=playfield test CA'])
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\n')
  for (const [name, cn] of [['server', 'localhost'], ['client', 'playfield test client']] as const) {
    await run('openssl', ['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`])
    await run('openssl', ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
      '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '1', '-extfile', p(`${name}.ext`)])
  }
  return {
    dir,
    ca: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key')
  }
}
