// express@4 installed under an alias for the compatibility test; its API is typed like Express 5's.
declare module 'express4' {
  import express from 'express'
  export default express
}
