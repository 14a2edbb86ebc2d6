// The smallest caller workflow a merge-queue wake-up can dispatch: it
// declares the inputs the wake-up sends (branch, pr-number) and echoes the
// branch, so a test sees the dispatched run and what it was given.

export const WAKE_CALLER = `
name: quality-gates
on:
  workflow_dispatch:
    inputs:
      branch:
        required: true
      pr-number:
        default: ''
jobs:
  edge:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ inputs.branch }}"
`;
