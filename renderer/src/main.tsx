// Renderer entry: connect to core (IPC or HTTP), then render the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connect } from './api.js';
import { ApiProvider } from './ApiContext.js';
import { App } from './App.js';
import './styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element.');

const { api, transport } = connect();
document.documentElement.dataset.transport = transport;

createRoot(root).render(
  <StrictMode>
    <ApiProvider api={api}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
