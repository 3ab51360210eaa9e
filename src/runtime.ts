// Where files that ship beside the code live at run time. From source or dist/: undefined (normal resolution).
// Inside the single executable: the directory the executable's embedded assets were unpacked to.
export function assetRoot (): string | undefined {
  return (globalThis as { __PLAYFIELD_ASSET_DIR?: string }).__PLAYFIELD_ASSET_DIR
}
